/**
 * The PowerShell files themselves: every .ps1/.psm1 of the agent (the backend's scripts,
 * install.ps1, uninstall.ps1) and of the stand-in module parses with PowerShell's own parser; the
 * production scripts stay within Windows PowerShell 5.1's syntax and never hand a secret to a
 * cmdlet as text; the shared helpers read every output form. Also the runner's pure parts (no
 * PowerShell needed for those).
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PowerShellBackend, resolvePowerShellExecutable } from '../../agent/backends/powershell.js';
import {
  asciiJson,
  childEnvironment,
  parseAnswer,
  redactSecrets,
} from '../../agent/backends/powershell-runner.js';
import { describePwsh, requirePwsh, ROOT, SCRIPTS_DIR } from './support.js';

function psFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return psFiles(path);
    return /\.ps[dm]?1$/i.test(name) ? [path] : [];
  });
}

const agentFiles = psFiles(join(ROOT, 'agent'));
const testFiles = psFiles(join(ROOT, 'test', 'powershell'));

async function pwshJson<T>(command: string): Promise<T> {
  const { stdout } = await promisify(execFile)(
    requirePwsh(),
    ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', command],
    { cwd: ROOT, env: { ...process.env, POWERSHELL_TELEMETRY_OPTOUT: '1' }, maxBuffer: 16 << 20 },
  );
  return JSON.parse(stdout) as T;
}

describe('PowerShell files (static)', () => {
  it('include the backend scripts, install.ps1 and uninstall.ps1', () => {
    const names = agentFiles.map((f) => relative(ROOT, f).split('\\').join('/'));
    expect(names).toEqual(
      expect.arrayContaining([
        'agent/install.ps1',
        'agent/uninstall.ps1',
        'agent/powershell/CcsCommon.ps1',
        'agent/powershell/Get-CcsState.ps1',
        'agent/powershell/Set-CcsProvider.ps1',
        'agent/powershell/Install-CcsFeature.ps1',
        'agent/powershell/Test-CcsShare.ps1',
      ]),
    );
  });
});

describePwsh.concurrent('PowerShell files (parsed by PowerShell)', { timeout: 120_000 }, () => {
  it('all parse without errors (Windows PowerShell 5.1 compatibility: ps51-compat.test.ts)', async () => {
    const list = [...agentFiles, ...testFiles].map((f) => `'${f.replace(/'/g, "''")}'`).join(',');
    const results = await pwshJson<{ file: string; errors: string[]; commands: string[] }[]>(`
      $out = foreach ($file in @(${list})) {
        $tokens = $null; $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($file, [ref]$tokens, [ref]$errors)
        $commands = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true) | ForEach-Object { $_.GetCommandName() } | Where-Object { $_ } | Sort-Object -Unique)
        [pscustomobject]@{
          file = $file
          commands = $commands
          errors = @($errors | ForEach-Object { '{0}: {1}' -f $_.Extent.StartLineNumber, $_.Message })
        }
      }
      ConvertTo-Json -InputObject @($out) -Depth 4 -Compress
    `);
    expect(results).toHaveLength(agentFiles.length + testFiles.length);
    for (const result of results) {
      expect(result.errors, result.file).toEqual([]);
    }
    // The backend scripts never hand a secret to a cmdlet as text: module logging (event 4103)
    // would record it. They parse their input with a method call and build SecureStrings by hand.
    const commands = new Set(
      results
        .filter((r) => r.file.startsWith(SCRIPTS_DIR))
        .flatMap((r) => r.commands.map((c) => c.toLowerCase())),
    );
    expect([...commands]).toEqual(
      expect.arrayContaining(['add-type', 'install-windowsfeature', 'invoke-ccsmain']),
    );
    for (const forbidden of ['convertto-securestring', 'convertfrom-json', 'start-transcript']) {
      expect(commands.has(forbidden), forbidden).toBe(false);
    }
  });

  it('shared helpers: SecureStrings, ASCII JSON, restart detection, Win32 codes', async () => {
    const common = join(SCRIPTS_DIR, 'CcsCommon.ps1').replace(/'/g, "''");
    const r = await pwshJson<Record<string, unknown>>(`
      . '${common}'
      $ErrorActionPreference = 'Continue'
      ConvertTo-Json -Depth 4 -Compress -InputObject ([ordered]@{
        emptySecure = (ConvertTo-CcsSecureString '').Length
        nullSecure = (ConvertTo-CcsSecureString $null).Length
        secure = (ConvertTo-CcsSecureString 'pä$s').Length
        json = ConvertTo-CcsJsonLine -Value @{ s = 'ü€' }
        restart = @(
          (Test-CcsRestartNeeded ([pscustomobject]@{ Success = $true; RestartNeeded = 'Yes'; ExitCode = 'SuccessRestartRequired' })),
          (Test-CcsRestartNeeded ([pscustomobject]@{ RestartNeeded = $true })),
          (Test-CcsRestartNeeded ([pscustomobject]@{ ExitCode = 3010 })),
          (Test-CcsRestartNeeded ([pscustomobject]@{ Success = $true; RestartNeeded = 'No'; ExitCode = 'Success' })),
          (Test-CcsRestartNeeded ([pscustomobject]@{ RestartNeeded = $false }))
        )
        win32 = Get-CcsWin32Code -Exception ([System.Exception]::new('outer', [System.ComponentModel.Win32Exception]::new(1326)))
      })
    `);
    expect(r).toEqual({
      emptySecure: 0,
      nullSecure: 0,
      secure: 4,
      json: '{"s":"\\u00fc\\u20ac"}',
      restart: [true, true, true, false, false],
      win32: 1326,
    });
  });
});

describe('powershell runner (no PowerShell needed)', () => {
  it('sends ASCII-only JSON', () => {
    const json = asciiJson({ password: 'pä€"\\' });
    expect(json).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(json)).toEqual({ password: 'pä€"\\' });
  });

  it('reads the last answer line and ignores stray output before it', () => {
    expect(parseAnswer('WARNING: noise\n{"not":"an answer"}\n{"ok":true,"result":{"a":1}}\n')).toEqual({
      ok: true,
      result: { a: 1 },
    });
    expect(
      parseAnswer('{"ok":false,"error":{"code":"CmdletFailed","message":"m","cmdlet":"X","win32":null}}\r\n'),
    ).toMatchObject({ ok: false, error: { code: 'CmdletFailed', cmdlet: 'X' } });
    expect(parseAnswer('plain text\n{ broken')).toBeUndefined();
  });

  it('blanks secrets, longest first', () => {
    expect(redactSecrets('a pass password b', ['pass', 'password', ''])).toBe('a *** *** b');
    // The forms a secret takes on the way to the script: JSON- and ASCII-escaped (asciiJson).
    const secret = 'Pä"ss\\wörd';
    const echoed = `stdin was ${asciiJson({ password: secret })} and ${JSON.stringify(secret)}`;
    expect(redactSecrets(echoed, [secret])).toBe('stdin was {"password":"***"} and "***"');
  });

  it("never passes the agent's own credentials to a script", () => {
    const env = childEnvironment({
      PATH: '/bin',
      SystemRoot: 'C:\\Windows',
      AZURE_CLIENT_SECRET: 'x',
      AZURE_CLIENT_CERTIFICATE_PASSWORD: 'x',
      IDENTITY_HEADER: 'x',
      CCS_AGENT_STORAGE_CONNECTION_STRING: 'x',
      CCS_AGENT_KEY_VAULT_LOCAL_TOKEN: 'x',
      AZURE_CLIENT_ID: 'id',
    });
    expect(Object.keys(env).sort()).toEqual(
      [
        'AZURE_CLIENT_ID',
        'PATH',
        'POWERSHELL_TELEMETRY_OPTOUT',
        'POWERSHELL_UPDATECHECK',
        'SystemRoot',
      ].sort(),
    );
  });

  it('starts Windows PowerShell by its full path on Windows, pwsh elsewhere', () => {
    expect(resolvePowerShellExecutable(undefined, 'win32', { SystemRoot: 'D:\\Win' })).toBe(
      'D:\\Win\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    );
    expect(resolvePowerShellExecutable('powershell.exe', 'win32', {})).toBe(
      'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    );
    expect(resolvePowerShellExecutable('pwsh', 'win32', { ProgramFiles: 'Z:\\nowhere' })).toBe('pwsh.exe');
    expect(resolvePowerShellExecutable('C:\\tools\\pwsh.exe', 'win32', {})).toBe('C:\\tools\\pwsh.exe');
    expect(resolvePowerShellExecutable(undefined, 'linux', {})).toBe('pwsh');
  });

  it('reports a PowerShell that cannot be started as PowerShellNotFound', async () => {
    const backend = new PowerShellBackend({ executable: join(ROOT, 'no-such-dir', 'pwsh') });
    await expect(backend.installFeature()).rejects.toMatchObject({
      name: 'PowerShellError',
      code: 'PowerShellNotFound',
    });
  });
});
