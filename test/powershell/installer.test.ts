/**
 * agent/install.ps1 and agent/uninstall.ps1, run for real in PowerShell against the stand-in's
 * Windows (SCM through its cmdlets and CIM, sc.exe, file ACLs, the registry, the module catalogue):
 * install, re-install (the service path set through Win32_Service.Change and still parsing back to
 * the same arguments), uninstall and purge, and the refusals (a folder others may change, a 32-bit
 * node, no IISAdministration).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePwsh, FAKE_MODULE, requirePwsh, ROOT, type FakeState } from './support.js';

const ADMINS = 'S-1-5-32-544';
const SYSTEM = 'S-1-5-18';
const USERS = 'S-1-5-32-545';
const FULL = 0x1f01ff;
const READ_AND_EXECUTE = 0x1200a9;
const MODIFY = 0x1301bf;
const ENV_KEY = 'SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment';
const SERVICE_KEY = 'SYSTEM\\CurrentControlSet\\Services\\CcsAgent';
const SOURCE_KEY = 'SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\CcsAgent';

/** CommandLineToArgvW's rules (what the SCM's ImagePath becomes in the wrapper's Main). */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let arg = '';
    let quoted = false;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (c === '\\') {
        let n = 0;
        while (line[i] === '\\') {
          n++;
          i++;
        }
        if (line[i] === '"') {
          arg += '\\'.repeat(n >> 1);
          if (n % 2 === 1) arg += '"';
          else quoted = !quoted;
        } else {
          arg += '\\'.repeat(n);
          i--;
        }
      } else if (c === '"') quoted = !quoted;
      else if ((c === ' ' || c === '\t') && !quoted) break;
      else arg += c;
    }
    args.push(arg);
  }
  return args;
}

/** `#Requires -RunAsAdministrator`: pwsh on Linux checks for root, as 5.1 checks for elevation. */
const elevated = process.getuid?.() === 0;
if (!elevated) console.warn('install.ps1 tests skipped: they run as root (#Requires -RunAsAdministrator)');
const describeElevated = elevated ? describePwsh : describePwsh.skip;

describeElevated('install.ps1 / uninstall.ps1 against the stand-in', { timeout: 300_000 }, () => {
  let dir: string;
  let app: string;
  let nodeDir: string;
  let stateFile: string;
  const state = async () => JSON.parse(await readFile(stateFile, 'utf8')) as FakeState;
  const patch = async (p: Partial<FakeState>) =>
    writeFile(stateFile, JSON.stringify({ ...(await state()), ...p }));
  const values = async (key: string) =>
    Object.fromEntries(Object.entries((await state()).registry?.[key] ?? {}).map(([n, v]) => [n, v.data]));

  /** Runs PowerShell code with the stand-in's environment; answers stdout, or the error's text. */
  async function pwsh(command: string): Promise<string> {
    const { stdout } = await promisify(execFile)(
      requirePwsh(),
      ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', command],
      {
        env: {
          ...process.env,
          CCS_FAKEIIS_STATE: stateFile,
          WINDIR: join(dir, 'win'),
          POWERSHELL_TELEMETRY_OPTOUT: '1',
        },
        maxBuffer: 8 << 20,
      },
    );
    return stdout;
  }
  const install = (extra = '') =>
    `& '${join(ROOT, 'agent', 'install.ps1')}' -CcsId farm-a -QueueServiceUri https://st.queue.core.windows.net/ -KeyVaultUrl https://kv.vault.azure.net/ ` +
    `-AgentDir '${app}' -NodePath '${join(nodeDir, 'node.exe')}' -ServiceDir '${join(dir, 'svc')}' -DataDir '${join(dir, 'data')}' -TestModule '${FAKE_MODULE}' ${extra}`;
  const uninstall = (extra = '') =>
    `& '${join(ROOT, 'agent', 'uninstall.ps1')}' -ServiceDir '${join(dir, 'svc')}' -DataDir '${join(dir, 'data')}' -TestModule '${FAKE_MODULE}' ${extra}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ccs-install-'));
    app = join(dir, 'app');
    nodeDir = join(dir, 'nodejs');
    await mkdir(join(app, 'dist', 'agent'), { recursive: true });
    await writeFile(join(app, 'dist', 'agent', 'main.js'), '');
    await mkdir(join(app, 'sub'));
    await mkdir(nodeDir);
    // node.exe answers `-p "process.version + ' ' + process.arch"`; NODE_ARCH plays a 32-bit one.
    await writeFile(join(nodeDir, 'node.exe'), '#!/bin/sh\necho "v22.11.0 ${NODE_ARCH:-x64}"\n');
    // The .NET Framework's csc.exe: writes the /out: file.
    const csc = join(dir, 'win', 'Microsoft.NET', 'Framework64', 'v4.0.30319');
    await mkdir(csc, { recursive: true });
    await writeFile(
      join(csc, 'csc.exe'),
      '#!/bin/sh\nfor a in "$@"; do case "$a" in /out:*) : > "${a#/out:}";; esac; done\n',
    );
    await chmod(join(csc, 'csc.exe'), 0o755);
    await chmod(join(nodeDir, 'node.exe'), 0o755);
    stateFile = join(dir, 'fake-windows.json');
    const rx: NonNullable<FakeState['acl']>[string] = [
      { sid: ADMINS, rights: FULL, type: 'Allow' },
      { sid: SYSTEM, rights: FULL, type: 'Allow' },
      { sid: USERS, rights: READ_AND_EXECUTE, type: 'Allow' },
    ];
    await writeFile(
      stateFile,
      JSON.stringify({
        acl: { [app]: rx, [nodeDir]: rx },
        registry: {
          [ENV_KEY]: {
            IDENTITY_ENDPOINT: {
              type: 'REG_SZ',
              data: 'http://localhost:40342/metadata/identity/oauth2/token',
            },
            IMDS_ENDPOINT: { type: 'REG_SZ', data: 'http://localhost:40342' },
          },
        },
      } satisfies FakeState),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a folder where Users may modify, a 32-bit node, and a server without IISAdministration', async () => {
    const attempt = (code: string) => `try { ${code} *> $null; 'installed' } catch { $_.Exception.Message }`;
    const rules = (await state()).acl!;
    await patch({
      acl: { ...rules, [join(app, 'sub')]: [...rules[app]!, { sid: USERS, rights: MODIFY, type: 'Allow' }] },
    });
    const modify = await pwsh(attempt(install('-NoStart')));
    await patch({ acl: rules });
    const x86 = await pwsh(`$env:NODE_ARCH = 'ia32'; ${attempt(install('-NoStart'))}`);
    await patch({ modules: { IISAdministration: false } });
    const noModule = await pwsh(attempt(install('-NoStart')));
    await patch({ modules: {} });

    expect(modify).toContain('Non-administrators can change the code');
    expect(modify).toContain(join(app, 'sub'));
    expect(x86).toContain('ia32 (32-bit) Node.js');
    expect(noModule).toMatch(/Install-WindowsFeature Web-Scripting-Tools.*Install-Module IISAdministration/);
    expect((await state()).services ?? {}).toEqual({});
  });

  it('installs with Users:ReadAndExecute on the folders: service, environment with -Proxy, Event Log source', async () => {
    await pwsh(install('-Proxy http://proxy.contoso.com:8080'));
    const service = (await state()).services?.CcsAgent as Record<string, unknown>;
    expect(service).toMatchObject({
      StartMode: 'Auto',
      DelayedAutoStart: true,
      StartName: 'LocalSystem',
      State: 'Running',
    });
    expect(splitCommandLine(service.PathName as string)).toEqual([
      join(dir, 'svc', 'CcsAgentService.exe'),
      ...[
        '--name',
        'CcsAgent',
        '--node',
        join(nodeDir, 'node.exe'),
        '--workdir',
        app,
        '--logs',
        join(dir, 'data', 'logs'),
      ],
      ...['--log-max-mb', '10', '--log-files', '5', '--'],
      join(app, 'dist', 'agent', 'main.js'),
      ...['run', '--config', join(dir, 'data', 'agent.json')],
    ]);
    expect((await values(SERVICE_KEY)).Environment).toEqual([
      'IDENTITY_ENDPOINT=http://localhost:40342/metadata/identity/oauth2/token',
      'IMDS_ENDPOINT=http://localhost:40342',
      'HTTPS_PROXY=http://proxy.contoso.com:8080',
      'NO_PROXY=localhost,127.0.0.1,169.254.169.254',
    ]);
    expect(await values(SOURCE_KEY)).toMatchObject({
      EventMessageFile: expect.stringContaining('EventLogMessages.dll') as unknown,
    });
    expect(JSON.parse(await readFile(join(dir, 'data', 'agent.json'), 'utf8'))).toMatchObject({
      ccsId: 'farm-a',
      backend: 'powershell',
    });
    expect((await state()).acl?.[join(dir, 'data')]?.map((r) => r.sid)).toEqual([ADMINS, SYSTEM]);
    expect(existsSync(join(dir, 'svc', 'CcsAgentService.exe'))).toBe(true);
  });

  it('re-installs through Win32_Service.Change: the new path parses back to the same arguments', async () => {
    await patch({ calls: [] });
    await pwsh(install('-LogFiles 7'));
    const s = await state();
    const commands = (s.calls ?? []).map((c) => c.command);
    expect(commands).toContain('Win32_Service.Change');
    expect(commands).not.toContain('New-Service');
    expect(s.calls?.find((c) => c.command === 'Win32_Service.Change')?.parameters).toMatchObject({
      PathName: 'System.String',
    });
    const args = splitCommandLine((s.services?.CcsAgent as { PathName: string }).PathName);
    expect(args.slice(0, 2)).toEqual([join(dir, 'svc', 'CcsAgentService.exe'), '--name']);
    expect(args[args.indexOf('--log-files') + 1]).toBe('7');
    expect(args.slice(-3)).toEqual(['run', '--config', join(dir, 'data', 'agent.json')]);
    expect((s.services?.CcsAgent as { State: string }).State).toBe('Running');
    // Without -Proxy, the environment has no proxy any more.
    expect((await values(SERVICE_KEY)).Environment).toHaveLength(2);
  });

  it('uninstalls (configuration kept), then purges', async () => {
    await pwsh(uninstall());
    expect((await state()).services).toEqual({});
    expect(existsSync(join(dir, 'svc', 'CcsAgentService.exe'))).toBe(false);
    expect(existsSync(join(dir, 'data', 'agent.json'))).toBe(true);
    expect((await state()).calls?.map((c) => c.command)).toContain('Win32_Service.Delete');
    await pwsh(uninstall('-Purge'));
    expect(existsSync(join(dir, 'data'))).toBe(false);
    expect((await state()).registry?.[SOURCE_KEY]).toBeUndefined();
  });
});
