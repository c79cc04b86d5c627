/**
 * The API's side of the operator's tools, without I/O beyond a temporary folder: the console's
 * catch-all route, which request paths may name a console file (none may leave the folder), the
 * Content-Security-Policy it is served under, and the Entra sign-in settings a client is shown.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../functions/route-table.js';
import { readConsoleFile } from '../../functions/http/console-files.js';
import { contentSecurityPolicy } from '../../functions/http/console.js';
import { entraSignIn } from '../../shared/auth/sign-in.js';

describe('the console route', () => {
  it('takes the rest of the path, slashes included, in a {*path} catch-all', () => {
    expect(matchRoute('console/{*path}', 'console/')).toEqual({ path: '' });
    expect(matchRoute('console/{*path}', 'console')).toEqual({ path: '' });
    expect(matchRoute('console/{*path}', 'console/assets/index-1.js')).toEqual({ path: 'assets/index-1.js' });
    expect(matchRoute('console/{*path}', 'consoles/x')).toBeNull();
    expect(matchRoute('console/{*path}', 'console/%E0%A4%A')).toBeNull();
  });

  it('serves only the files Vite emits, never a path that leaves the folder', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ccs-console-'));
    const dir = join(root, 'console');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'assets', 'index-abc.js'), 'export {}');
    writeFileSync(join(root, 'secret.json'), '{}');
    writeFileSync(join(dir, '.env'), 'X=1');

    expect(await readConsoleFile('', dir)).toMatchObject({
      type: 'text/html; charset=utf-8',
      immutable: false,
    });
    expect(await readConsoleFile('assets/index-abc.js', dir)).toMatchObject({ immutable: true });
    for (const path of [
      '../secret.json',
      'assets/../../secret.json',
      '.env',
      '..',
      'assets/',
      '/etc/passwd',
      'a\\..\\secret.json',
      'index.html.map',
      'assets/missing.js',
    ]) {
      expect(await readConsoleFile(path, dir), path).toBeNull();
    }
  });

  it('is served under a CSP of its own origin only: no inline script or style, no framing', () => {
    const csp = contentSecurityPolicy(null);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe|\*|data:/);
    // With Entra ID, MSAL talks to the authority (token requests) and nothing else.
    expect(contentSecurityPolicy('https://login.microsoftonline.com')).toContain(
      "connect-src 'self' https://login.microsoftonline.com",
    );
  });
});

describe('the Entra sign-in settings (GET /api/sign-in/entra)', () => {
  const TENANT = '11111111-2222-3333-4444-555555555555';
  const API_APP = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

  it('are none when the API accepts access tokens only', () => {
    expect(
      entraSignIn({ CCS_ENTRA_TENANT_ID: undefined, CCS_ENTRA_AUDIENCE: undefined } as never),
    ).toBeNull();
  });

  it("name the authority, the API's scope and the console's client id", () => {
    expect(
      entraSignIn({
        CCS_ENTRA_TENANT_ID: TENANT,
        CCS_ENTRA_AUDIENCE: `api://ccs-fleet, ${API_APP}`,
      } as never),
    ).toEqual({
      tenant_id: TENANT,
      authority: `https://login.microsoftonline.com/${TENANT}`,
      scopes: ['api://ccs-fleet/.default'],
      console_client_id: API_APP,
    });
  });

  it('follow a sovereign cloud issuer and an explicit console app registration', () => {
    const settings = entraSignIn({
      CCS_ENTRA_TENANT_ID: TENANT,
      CCS_ENTRA_AUDIENCE: 'api://ccs-fleet',
      CCS_ENTRA_ISSUER: `https://login.microsoftonline.us/${TENANT}/v2.0`,
      CCS_CONSOLE_CLIENT_ID: 'console-app',
    });
    expect(settings).toMatchObject({
      authority: `https://login.microsoftonline.us/${TENANT}`,
      console_client_id: 'console-app',
    });
  });
});
