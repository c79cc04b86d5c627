/**
 * The Windows job's steps (scripts/windows/*.ps1, run by .github/workflows/windows.yml on real
 * windows-2022/2025 runners) run here against the stand-in, with the agent's powershell backend in
 * between as the installed agent would act: IIS features, a share account and share, the identity
 * check and apply, the registry assertion, the site binding (sslFlags 3), a real TLS handshake with
 * SNI that must serve the share's certificate, a password rotation, and the disable.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePfx, verifyPfxPassword } from '../../shared/pkcs12/pfx.js';
import {
  describePwsh,
  FAKE_MODULE,
  PFX_FIXTURE,
  PFX_PASSWORD,
  requirePwsh,
  ROOT,
  sandbox,
  type Sandbox,
} from './support.js';

const STEPS = join(ROOT, 'scripts', 'windows');
const SHARE = '\\\\localhost\\ccs';
const ACCOUNT = 'WEB01\\ccs-reader';

describePwsh('the Windows job, against the stand-in', { timeout: 300_000 }, () => {
  let box: Sandbox;
  let shareFolder: string;
  let password = 'Job-Pa55-1!';

  /** Runs PowerShell with the stand-in; rejects with the step's error when it throws. */
  const step = (command: string) =>
    promisify(execFile)(
      requirePwsh(),
      ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', `$ErrorActionPreference = 'Stop'; ${command}`],
      {
        env: {
          ...process.env,
          CCS_FAKEIIS_STATE: box.stateFile,
          COMPUTERNAME: 'WEB01',
          CCS_SHARE_PASSWORD: password,
          POWERSHELL_TELEMETRY_OPTOUT: '1',
        },
      },
    ).then((r) => r.stdout);
  const script = (name: string, args = '') => `& '${join(STEPS, name)}' ${args} -TestModule '${FAKE_MODULE}'`;

  beforeAll(async () => {
    box = await sandbox('unused', {
      shares: {},
      accounts: {},
      windows: { computerAccount: 'WORKGROUP\\WEB01$', sessions: {}, connections: [] },
    });
    shareFolder = await mkdtemp(join(tmpdir(), 'ccs-job-share-'));
  });
  afterAll(async () => {
    await box.cleanup();
    await rm(shareFolder, { recursive: true, force: true });
  });

  it('installs IIS, then makes the share and its account', async () => {
    await step(
      `${script('Install-IisFeatures.ps1')}; ${script('New-CcsTestShare.ps1', `-Folder '${shareFolder}' -PfxFile @('${PFX_FIXTURE}')`)}`,
    );
    const state = await box.state();
    expect(state.feature).toBe('Installed');
    expect(state.shares).toEqual({ [SHARE]: shareFolder });
    expect(state.accounts?.[ACCOUNT]).toEqual({ password, shares: [SHARE] });
  });

  it('the agent checks the identity and applies; the registry step sees it', async () => {
    const backend = box.backend();
    const access = await backend.checkStoreAccess(SHARE, ACCOUNT, password);
    expect(access.agent).toEqual({ ok: true });
    expect(
      access.identity.ok && access.identity.pfx && verifyPfxPassword(access.identity.pfx.bytes, PFX_PASSWORD),
    ).toBe('ok');
    await backend.apply({
      enabled: true,
      path: SHARE,
      username: ACCOUNT,
      password,
      privateKeyPassword: PFX_PASSWORD,
    });
    await step(script('Assert-CcsRegistry.ps1', `-Enabled $true -Path '${SHARE}' -UserName '${ACCOUNT}'`));
    await expect(
      step(script('Assert-CcsRegistry.ps1', `-Enabled $true -Path '${SHARE}' -UserName 'WEB01\\other'`)),
    ).rejects.toThrow(/UserName is 'WEB01\\ccs-reader'/);
  });

  it('binds the site with sslFlags 3; the HTTPS step checks the certificate served for the SNI name', async () => {
    await step(script('Set-CcsSiteBinding.ps1', '-HostName www.contoso.com'));
    expect((await box.state()) as unknown).toMatchObject({
      bindings: [{ protocol: 'https', bindingInformation: '*:443:www.contoso.com', sslFlags: 3 }],
      sslBindings: ['IIS:\\SslBindings\\!443!www.contoso.com'],
    });
    // IIS's part, played by a TLS server answering www.contoso.com with the share's file.
    const pfx = await readFile(join(shareFolder, 'www.contoso.com.pfx'));
    const server: Server = createServer({ pfx, passphrase: PFX_PASSWORD });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const thumbprint = describePfx(pfx, PFX_PASSWORD).certificates[0]!.fingerprint.replace(/:/g, '');
    const https = (expected: string) =>
      step(
        `& '${join(STEPS, 'Test-CcsHttps.ps1')}' -HostName www.contoso.com -ExpectedThumbprint ${expected} -Port ${port} -NodePath '${process.execPath}'`,
      );
    try {
      expect(await https(thumbprint)).toContain(`SNI www.contoso.com -> ${thumbprint}`);
      await expect(https('00'.repeat(20))).rejects.toThrow('expected 0000');
    } finally {
      server.close();
    }
  });

  it('rotates the account password: the old one fails the identity check, the new one applies', async () => {
    const old = password;
    password = 'Job-Pa55-2!';
    await step(script('Set-ShareAccountPassword.ps1'));
    const backend = box.backend();
    expect((await backend.checkStoreAccess(SHARE, ACCOUNT, old)).identity).toMatchObject({
      ok: false,
      failure: 'LogonFailed',
    });
    expect((await backend.checkStoreAccess(SHARE, ACCOUNT, password)).identity.ok).toBe(true);
    await backend.apply({
      enabled: true,
      path: SHARE,
      username: ACCOUNT,
      password,
      privateKeyPassword: PFX_PASSWORD,
    });
    expect((await box.provider()).Password).toBe(password);
  });

  it('disables: the registry step sees it erased', async () => {
    await box.backend().apply({ enabled: false });
    await step(script('Assert-CcsRegistry.ps1', '-Enabled $false'));
  });
});
