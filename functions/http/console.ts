/**
 * `/api/console/…`: the operator console, a single-page app that uses only the public API
 * (docs/console.md). Served without credentials — its files hold no data; the app signs in
 * against the API like any caller — under a strict Content-Security-Policy: scripts, styles,
 * images and fetches from this origin only, no inline script or style, no framing; when the API
 * accepts Entra ID tokens, MSAL may also talk to (and frame, for silent renewal) the authority.
 */
import type { HttpResponseInit } from '@azure/functions';
import { entraSignIn } from '../../shared/auth/sign-in.js';
import { DomainError } from '../../shared/errors.js';
import { getAppContext } from '../app-context.js';
import { defineHttp } from '../route-table.js';
import { anonymous } from './anonymous.js';
import { readConsoleFile } from './console-files.js';

/** The Entra authority's origin, when the API accepts Entra tokens (and its config is valid). */
function authorityOrigin(): string | null {
  try {
    const entra = entraSignIn(getAppContext().config);
    return entra && entra.console_client_id ? new URL(entra.authority).origin : null;
  } catch {
    return null;
  }
}

export function contentSecurityPolicy(authority: string | null): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    `connect-src 'self'${authority ? ` ${authority}` : ''}`,
    `frame-src ${authority ?? "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const getConsole = anonymous(async (request): Promise<HttpResponseInit> => {
  const path = request.params.path ?? '';
  const file = await readConsoleFile(path);
  if (!file) {
    const detail =
      path === '' ? 'The console is not built: run npm run build' : 'No such file in the console';
    throw new DomainError('not-found', 'NotFound', detail, 'path');
  }
  return {
    status: 200,
    body: file.body,
    headers: {
      'Content-Type': file.type,
      'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'Content-Security-Policy': contentSecurityPolicy(authorityOrigin()),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'X-Frame-Options': 'DENY',
    },
  };
});

defineHttp({
  name: 'getConsole',
  route: 'console/{*path}',
  methods: ['GET'],
  handler: getConsole,
  anonymous: true,
  openApi: false,
});
