/**
 * The powershell backend end to end in a real PowerShell: enable (installing the feature first),
 * update, disable, against the stand-in IISAdministration module. Proves parameter binding with
 * the real types (SecureString), the SecureString conversion of awkward secrets, the JSON protocol
 * both ways, and that no secret is ever on a child's command line or in its environment.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PowerShellBackend } from '../../agent/backends/powershell.js';
import { canary, describePwsh, ProcWatcher, sandbox, SHARE, USER, type Sandbox } from './support.js';

describePwsh('powershell backend: enable → update → disable', { timeout: 120_000 }, () => {
  const password = canary('share');
  const privateKeyPassword = canary('pfx');
  const rotated = canary('rotated');
  const secrets = [password, privateKeyPassword, rotated];
  const watcher = new ProcWatcher();
  let box: Sandbox;
  let backend: PowerShellBackend;

  beforeAll(async () => {
    box = await sandbox(password, {
      // Long enough for /proc to be read while the cmdlet holds the SecureStrings.
      behaviour: {
        'Enable-IISCentralCertProvider': { delayMs: 600 },
        'Set-IISCentralCertProvider': { delayMs: 600 },
      },
    });
    backend = box.backend({ onSpawn: watcher.onSpawn });
  });
  afterAll(async () => {
    watcher.stop();
    await box.cleanup();
  });

  it('reads a server without the CCS feature as disabled, feature not installed', async () => {
    expect(await backend.readActual()).toEqual({
      enabled: false,
      path: null,
      username: null,
      featureInstalled: false,
      rebootRequired: false,
      osVersion: '10.0.20348',
    });
  });

  it('enables: installs Web-CertProvider, then Enable-IISCentralCertProvider with SecureStrings', async () => {
    await backend.apply({ enabled: true, path: SHARE, username: USER, password, privateKeyPassword });

    const state = await box.state();
    expect(state.feature).toBe('Installed');
    // The exact secrets made it through stdin → JSON → SecureString → the cmdlet → the registry.
    expect(await box.provider()).toEqual({
      Enabled: 1,
      CertStoreLocation: SHARE,
      UserName: USER,
      Password: password,
      PrivateKeyPassword: privateKeyPassword,
    });
    const calls = state.calls ?? [];
    const install = calls.find((c) => c.command === 'Install-WindowsFeature');
    expect(install?.parameters).toMatchObject({ Name: 'System.String[]' });
    expect(calls.map((c) => c.command)).not.toContain('Enable-WindowsOptionalFeature');
    const enable = calls.find((c) => c.command === 'Enable-IISCentralCertProvider');
    expect(enable?.parameters).toMatchObject({
      CertStoreLocation: 'System.String',
      UserName: 'System.String',
      Password: 'System.Security.SecureString',
      PrivateKeyPassword: 'System.Security.SecureString',
    });

    expect(await backend.readActual()).toEqual({
      enabled: true,
      path: SHARE,
      username: USER,
      featureInstalled: true,
      rebootRequired: false,
      osVersion: '10.0.20348',
    });
  });

  it('updates with Set-IISCentralCertProvider; no private-key password is an empty SecureString', async () => {
    await box.setState({ calls: [] });
    const moved = '\\\\files\\ccs\\farm-b';
    await backend.apply({
      enabled: true,
      path: moved,
      username: 'contoso\\ccs-reader2',
      password: rotated,
      privateKeyPassword: null,
    });
    expect(await box.provider()).toEqual({
      Enabled: 1,
      CertStoreLocation: moved,
      UserName: 'contoso\\ccs-reader2',
      Password: rotated,
      PrivateKeyPassword: '',
    });
    const commands = await box.commands();
    expect(commands).toContain('Set-IISCentralCertProvider');
    expect(commands).not.toContain('Enable-IISCentralCertProvider');
    expect(commands).not.toContain('Install-WindowsFeature');
  });

  it('disables: Disable- then Clear-IISCentralCertProvider erase the username and both passwords', async () => {
    await box.setState({ calls: [] });
    await backend.apply({ enabled: false });
    const state = await box.state();
    expect(await box.provider()).toEqual({ Enabled: 0 });
    const commands = await box.commands();
    expect(commands.indexOf('Disable-IISCentralCertProvider')).toBeGreaterThan(-1);
    expect(commands.indexOf('Clear-IISCentralCertProvider')).toBeGreaterThan(
      commands.indexOf('Disable-IISCentralCertProvider'),
    );
    expect(state.calls?.find((c) => c.command === 'Clear-IISCentralCertProvider')?.parameters).toMatchObject({
      Force: 'System.Management.Automation.SwitchParameter',
    });

    // Idempotent: disabling again touches nothing.
    await box.setState({ calls: [] });
    await backend.apply({ enabled: false });
    const again = await box.commands();
    expect(again).not.toContain('Disable-IISCentralCertProvider');
    expect(again).not.toContain('Clear-IISCentralCertProvider');
  });

  it('never put a secret on a command line or in an environment (/proc, read while they ran)', () => {
    watcher.stop();
    const seen = watcher.snapshots.filter((s) => s.cmdline.includes('-NonInteractive'));
    // The watcher saw every script, including while the slow cmdlets held the secrets (reading
    // the state starts none: it is the registry, read in-process).
    expect(new Set(seen.map((s) => s.script))).toEqual(
      new Set(['Set-CcsProvider.ps1', 'Install-CcsFeature.ps1']),
    );
    expect(seen.filter((s) => s.script === 'Set-CcsProvider.ps1').length).toBeGreaterThan(10);
    for (const snapshot of watcher.snapshots) {
      expect(snapshot.cmdline).toContain('-NoProfile');
      expect(snapshot.environ).toContain('CCS_FAKEIIS_STATE=');
      for (const secret of secrets) {
        expect(snapshot.cmdline).not.toContain(secret);
        expect(snapshot.environ).not.toContain(secret);
        // Nor any recognisable piece of it.
        expect(snapshot.cmdline).not.toContain(secret.slice(0, 20));
        expect(snapshot.environ).not.toContain(secret.slice(0, 20));
      }
    }
  });
});
