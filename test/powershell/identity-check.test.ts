/**
 * The store check on Windows (Test-CcsShare.ps1 + CcsStoreProbe.cs) against the stand-in's logon
 * sessions and SMB connections: the 1219 conflict that the previous check (New-PSDrive -Credential
 * in the agent's own session) ran into, the connection a failed New-PSDrive left behind, and the
 * impersonated check that meets neither; then every Windows error of the identity and of the
 * computer account, each mapped to its own answer.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { PowerShellError } from '../../agent/backends/powershell-runner.js';
import {
  COMPUTER,
  describePwsh,
  FAKE_MODULE,
  requirePwsh,
  sandbox,
  SCRIPTS_DIR,
  SHARE,
  USER,
  type Sandbox,
} from './support.js';

const PASSWORD = 'Share-Pa55!';
const SYSTEM_CONNECTION = {
  session: 'system',
  server: 'files',
  share: 'ccs',
  user: COMPUTER,
  explicit: false,
};

/**
 * What the agent did before: a temporary drive with the identity's credentials, in the agent's
 * own logon session (LocalSystem). Answers 'ok' or the Windows error.
 */
async function mapDriveTheOldWay(box: Sandbox, root: string, password = PASSWORD): Promise<string> {
  const script = `
    Import-Module '${FAKE_MODULE}' -Global -Force -DisableNameChecking
    $secure = New-Object System.Security.SecureString
    foreach ($c in '${password}'.ToCharArray()) { $secure.AppendChar($c) }
    $credential = New-Object System.Management.Automation.PSCredential -ArgumentList @('${USER}', $secure)
    try { $null = New-PSDrive -Name ccsold -PSProvider FileSystem -Root '${root}' -Credential $credential -Scope Script -ErrorAction Stop; 'ok' }
    catch { $e = $_.Exception; while ($null -ne $e -and $e -isnot [System.ComponentModel.Win32Exception]) { $e = $e.InnerException }; if ($e) { $e.NativeErrorCode } else { $_.Exception.Message } }`;
  const { stdout } = await promisify(execFile)(
    requirePwsh(),
    ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script],
    {
      env: { ...process.env, CCS_FAKEIIS_STATE: box.stateFile, POWERSHELL_TELEMETRY_OPTOUT: '1' },
    },
  );
  return stdout.trim();
}

describePwsh.concurrent('the identity check, impersonated (Test-CcsShare.ps1)', { timeout: 180_000 }, () => {
  const boxes: Sandbox[] = [];
  const box = async (...args: Parameters<typeof sandbox>) => {
    const created = await sandbox(...args);
    boxes.push(created);
    return created;
  };
  afterAll(async () => {
    await Promise.all(boxes.map((b) => b.cleanup()));
  });

  it("reproduces 1219 on the old path while the agent's session holds a connection; the new check passes", async () => {
    // The agent has read the share as itself (the inventory): its session is connected to \\files.
    const b = await box(PASSWORD, {
      windows: { computerAccount: COMPUTER, sessions: {}, connections: [SYSTEM_CONNECTION] },
    });
    expect(await mapDriveTheOldWay(b, SHARE)).toBe('1219');

    const access = await b.backend().checkStoreAccess(SHARE, USER, PASSWORD);
    expect(access.identity).toMatchObject({ ok: true, pfx: { name: 'www.contoso.com.pfx' } });
    expect(access.agent).toEqual({ ok: true });
    // Its logon session ended with the check; the agent's own connection is as it was.
    const windows = (await b.state()).windows;
    expect(windows?.sessions).toEqual({});
    expect(windows?.connections).toEqual([SYSTEM_CONNECTION]);
    // Read impersonated, in a session of its own; then as the agent (the computer account).
    const reads = (await b.state()).calls?.filter((c) => c.command === 'ReadFile').map((c) => c.parameters);
    expect(reads).toEqual([
      expect.objectContaining({ user: USER, session: expect.stringMatching(/^logon-/) as unknown }),
      expect.objectContaining({ user: COMPUTER, session: 'system' }),
    ]);
  });

  it("the old path's failed drive stays connected and turns the computer account's reads into the identity's; the new one leaves nothing", async () => {
    const b = await box(PASSWORD);
    expect(await mapDriveTheOldWay(b, `${SHARE}\\missing`)).toBe('3');
    expect((await b.state()).windows?.connections).toEqual([
      expect.objectContaining({ session: 'system', server: 'files', user: USER, explicit: true }),
    ]);
    // The agent's own read now authenticates as the CCS identity, not as CONTOSO\WEB01$.
    await b.backend().checkStoreAccess(SHARE, USER, PASSWORD);
    const agentRead = (await b.state()).calls?.filter((c) => c.command === 'ReadFile').at(-1)?.parameters;
    expect(agentRead).toMatchObject({ session: 'system', user: USER });

    const clean = await box(PASSWORD);
    const backend = clean.backend();
    for (const [path, password] of [
      [`${SHARE}\\missing`, PASSWORD],
      [SHARE, 'wrong'],
      ['\\\\files\\nope', PASSWORD],
    ] as const) {
      expect((await backend.checkStoreAccess(path, USER, password)).identity.ok).toBe(false);
    }
    expect((await clean.state()).windows).toMatchObject({ sessions: {}, connections: [] });
  });

  it('answers each mistake with its Windows error, in one PowerShell (CcsStoreProbe with the stand-in)', async () => {
    const b = await box(PASSWORD);
    const accounts = (await b.state()).accounts ?? {};
    const account = (restriction?: string) => ({
      password: PASSWORD,
      shares: [SHARE],
      ...(restriction ? { restriction } : {}),
    });
    await b.setState({
      accounts: {
        ...accounts,
        'CONTOSO\\disabled': account('disabled'),
        'CONTOSO\\locked': account('locked-out'),
        'CONTOSO\\expired': account('password-expired'),
        'CONTOSO\\service': account('no-logon-right'),
        'CONTOSO\\outsider': { password: PASSWORD, shares: [] },
      },
    });
    const cases: [string, string, string, number][] = [
      [USER, 'wrong', SHARE, 1326],
      ['CONTOSO\\nobody', PASSWORD, SHARE, 1326],
      ['CONTOSO\\disabled', PASSWORD, SHARE, 1331],
      ['CONTOSO\\disabled', 'wrong', SHARE, 1326],
      ['CONTOSO\\locked', 'wrong', SHARE, 1909],
      ['CONTOSO\\expired', PASSWORD, SHARE, 1330],
      ['CONTOSO\\service', PASSWORD, SHARE, 1385],
      ['CONTOSO\\outsider', PASSWORD, SHARE, 5],
      [USER, PASSWORD, '\\\\nas\\ccs', 53],
      [USER, PASSWORD, '\\\\files\\nope', 67],
      [USER, PASSWORD, `${SHARE}\\missing`, 3],
      [USER, PASSWORD, SHARE, 0],
    ];
    const probe = join(SCRIPTS_DIR, 'CcsStoreProbe.cs');
    const lines = cases.map(([user, password, path]) => `@('${user}', '${password}', '${path}')`).join(', ');
    const script = `
      Import-Module '${FAKE_MODULE}' -Global -Force -DisableNameChecking
      Add-Type -Path '${probe}'
      Use-FakeStoreProbe
      $out = foreach ($case in @(${lines})) {
        $secure = New-Object System.Security.SecureString
        foreach ($c in $case[1].ToCharArray()) { $secure.AppendChar($c) }
        [CcsAgent.StoreProbe]::AsIdentity($case[0], $secure, $case[2]).Win32
      }
      ConvertTo-Json -Compress -InputObject @($out)`;
    const { stdout } = await promisify(execFile)(
      requirePwsh(),
      ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script],
      {
        env: { ...process.env, CCS_FAKEIIS_STATE: b.stateFile, POWERSHELL_TELEMETRY_OPTOUT: '1' },
      },
    );
    expect(JSON.parse(stdout) as number[]).toEqual(cases.map((c) => c[3]));
    expect((await b.state()).windows).toMatchObject({ sessions: {}, connections: [] });
  });

  it('maps them through the backend: identity failures, and no agent check after one', async () => {
    const b = await box(PASSWORD);
    const backend = b.backend();
    expect(await backend.checkStoreAccess(SHARE, USER, 'wrong')).toEqual({
      identity: { ok: false, failure: 'LogonFailed', win32: 1326 },
      agent: null,
    });
    expect((await backend.checkStoreAccess('\\\\files\\nope', USER, PASSWORD)).identity).toEqual({
      ok: false,
      failure: 'PathNotFound',
      win32: 67,
    });
  });

  it("reports the computer account's missing READ on its own, and checks a local path the same way", async () => {
    const b = await box(PASSWORD);
    const local = join(b.dir, 'local');
    await mkdir(local);
    const accounts = (await b.state()).accounts ?? {};
    await b.setState({ accounts: { ...accounts, [COMPUTER]: { shares: [] } }, drives: { 'D:': local } });
    const backend = b.backend();
    expect(await backend.checkStoreAccess(SHARE, USER, PASSWORD)).toMatchObject({
      identity: { ok: true },
      agent: { ok: false, failure: 'AccessDenied', win32: 5 },
    });
    expect(await backend.checkStoreAccess('D:\\', USER, PASSWORD)).toEqual({
      identity: { ok: true, pfx: null },
      agent: { ok: true },
    });
    expect((await backend.checkStoreAccess('D:\\', USER, 'wrong')).identity).toMatchObject({
      failure: 'LogonFailed',
    });
  });

  it('a logon that says nothing about the input (1311: no domain controller) is thrown, to retry', async () => {
    const b = await box(PASSWORD, { behaviour: { LogonUser: { win32: 1311 } } });
    const error = await b
      .backend()
      .checkStoreAccess(SHARE, USER, PASSWORD)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PowerShellError);
    expect(error).toMatchObject({ code: 'StoreCheckFailed', details: { win32: 1311 } });
  });
});
