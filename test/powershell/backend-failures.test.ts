/**
 * How the powershell backend fails, in a real PowerShell against the stand-in module: cmdlet
 * errors, a hung cmdlet (timeout, process killed), feature installs that need a restart (3010 /
 * RestartNeeded → reboot_required) and broken answers. The store check has its own suite
 * (identity-check.test.ts).
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  isRebootExitCode,
  PowerShellError,
  PowerShellRunner,
} from '../../agent/backends/powershell-runner.js';
import {
  canary,
  describePwsh,
  requirePwsh,
  sandbox,
  SCRIPTS_DIR,
  SHARE,
  USER,
  FAKE_MODULE,
  PROVIDER_KEY,
  type Sandbox,
} from './support.js';

async function failure(promise: Promise<unknown>): Promise<PowerShellError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PowerShellError);
    return error as PowerShellError;
  }
  throw new Error('expected a PowerShellError');
}

describePwsh.concurrent('powershell backend failures', { timeout: 120_000 }, () => {
  const boxes: Sandbox[] = [];
  const box = async (...args: Parameters<typeof sandbox>) => {
    const created = await sandbox(...args);
    boxes.push(created);
    return created;
  };
  afterAll(async () => {
    await Promise.all(boxes.map((b) => b.cleanup()));
  });

  it('a failing cmdlet is CmdletFailed, names the cmdlet, and never echoes a secret', async () => {
    const password = canary('echoed');
    const b = await box(password, {
      feature: 'Installed',
      // A cmdlet whose error message repeats the password it was given.
      behaviour: { 'Enable-IISCentralCertProvider': { fail: `access denied for password ${password}` } },
    });
    const error = await failure(
      b.backend().apply({ enabled: true, path: SHARE, username: USER, password, privateKeyPassword: null }),
    );
    expect(error.code).toBe('CmdletFailed');
    expect(error.details).toMatchObject({ cmdlet: 'Enable-IISCentralCertProvider', exitCode: 1 });
    expect(error.message).toContain('Enable-IISCentralCertProvider failed: access denied for password ***');
    expect(error.message).not.toContain(password);
    expect(error.rebootRequired).toBe(false);
  });

  it('a hung cmdlet is killed at the timeout (with its process group) and reported as Timeout', async () => {
    const b = await box('pw', {
      feature: 'Installed',
      registry: { [PROVIDER_KEY]: { Enabled: { type: 'REG_DWORD', data: 1 } } },
      behaviour: { 'Disable-IISCentralCertProvider': { hang: true } },
    });
    let pid = 0;
    const backend = b.backend({ timeoutSeconds: 6, onSpawn: (child) => (pid = child.pid) });
    const started = Date.now();
    const error = await failure(backend.apply({ enabled: false }));
    expect(error.code).toBe('Timeout');
    expect(error.message).toContain('Set-CcsProvider.ps1 did not answer within 6 s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(6000);
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('Server: an install that needs a restart is RebootRequired (exit 3010), then reboot_required', async () => {
    const password = canary('reboot');
    const b = await box(password, { install: 'restart', osVersion: '10.0.14393' });
    const backend = b.backend();
    const error = await failure(
      backend.apply({ enabled: true, path: SHARE, username: USER, password, privateKeyPassword: null }),
    );
    expect(error.code).toBe('RebootRequired');
    expect(error.rebootRequired).toBe(true);
    expect(isRebootExitCode(error.details.exitCode ?? null)).toBe(true); // 3010 (194 on POSIX)
    expect(error.message).toContain('Windows must restart');
    expect(await b.commands()).toContain('Install-WindowsFeature');
    expect(await b.commands()).not.toContain('Enable-IISCentralCertProvider');
    // A later agent process (no memory of the install) still sees the pending restart.
    expect(await b.backend().readActual()).toEqual({
      enabled: false,
      path: null,
      username: null,
      featureInstalled: false,
      rebootRequired: true,
      osVersion: '10.0.14393',
    });
  });

  it('Client SKU: Enable-WindowsOptionalFeature -Online IIS-CertProvider; RestartNeeded → RebootRequired', async () => {
    const b = await box('pw', { productType: 1, install: 'restart' });
    const error = await failure(b.backend().installFeature());
    expect(error.code).toBe('RebootRequired');
    expect(isRebootExitCode(error.details.exitCode ?? null)).toBe(true); // 3010 (194 on POSIX)
    const enable = (await b.state()).calls?.find((c) => c.command === 'Enable-WindowsOptionalFeature');
    expect(enable?.parameters).toMatchObject({
      Online: 'System.Management.Automation.SwitchParameter',
      FeatureName: 'System.String[]',
      All: 'System.Management.Automation.SwitchParameter',
      NoRestart: 'System.Management.Automation.SwitchParameter',
    });
    expect(await b.commands()).not.toContain('Install-WindowsFeature');
  });

  it('a failed feature install is FeatureInstallFailed', async () => {
    const b = await box('pw', { install: 'fail' });
    const error = await failure(b.backend().installFeature());
    expect(error.code).toBe('FeatureInstallFailed');
    expect(error.details.cmdlet).toBe('Install-WindowsFeature');
    expect(error.rebootRequired).toBe(false);
  });

  it("the agent's own reads of the store (inventory) go through node:fs", async () => {
    const b = await box('pw');
    const backend = b.backend();
    expect(await backend.listPfx(b.shareFolder)).toEqual(['www.contoso.com.pfx']);
    const [stat] = await backend.statPfx(b.shareFolder);
    expect(stat).toMatchObject({
      name: 'www.contoso.com.pfx',
      size: (await backend.readFile(b.shareFolder, 'www.contoso.com.pfx')).length,
    });
    await expect(backend.readFile(b.shareFolder, '../fake-iis.json')).rejects.toThrow('A file name');
  });

  it('refuses input without the required fields (InvalidInput)', async () => {
    const b = await box('pw', { feature: 'Installed' });
    const runner = new PowerShellRunner({
      executable: requirePwsh(),
      scriptsDir: SCRIPTS_DIR,
      timeoutMs: 60_000,
      testModule: FAKE_MODULE,
      env: { CCS_FAKEIIS_STATE: b.stateFile },
    });
    const error = await failure(runner.run('Set-CcsProvider.ps1', { enabled: true, path: SHARE }));
    expect(error.code).toBe('InvalidInput');
    expect(error.message).toContain("'username'");
  });

  describePwsh('answers that break the protocol', () => {
    let dir: string;
    let runner: PowerShellRunner;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ccs-pwsh-protocol-'));
      await writeFile(
        join(dir, 'Junk.ps1'),
        "Write-Output 'not json'; [Console]::Error.WriteLine('it broke'); exit 2\n",
      );
      await writeFile(join(dir, 'Reboot.ps1'), 'exit 3010\n');
      await chmod(dir, 0o755);
      runner = new PowerShellRunner({ executable: requirePwsh(), scriptsDir: dir, timeoutMs: 60_000 });
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('no answer and exit code 2 is ProtocolError, and nothing the script wrote is reported', async () => {
      const error = await failure(runner.run('Junk.ps1', { password: 'it broke' }, ['it broke']));
      expect(error.code).toBe('ProtocolError');
      expect(error.details.exitCode).toBe(2);
      expect(error.message).toContain('exited with code 2 without an answer');
      expect(error.message).toContain('child output is not reported');
      expect(error.message).not.toMatch(/not json|it broke/);
    });

    it('no answer and exit code 3010 is RebootRequired', async () => {
      const error = await failure(runner.run('Reboot.ps1', {}));
      expect(error.code).toBe('RebootRequired');
      expect(error.rebootRequired).toBe(true);
    });
  });
});
