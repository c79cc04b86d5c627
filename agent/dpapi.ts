/**
 * The host key's protection on Windows: the Windows data-protection API, LocalMachine scope
 * (`System.Security.Cryptography.ProtectedData` with `DataProtectionScope.LocalMachine`, which
 * calls CryptProtectData with CRYPTPROTECT_LOCAL_MACHINE). The blob can be decrypted only on this
 * machine; who on the machine may read it is the state folder's ACL (Administrators and SYSTEM,
 * install.ps1). LocalMachine rather than CurrentUser so that the key survives a change of the
 * service account (LocalSystem ↔ gMSA) without re-enrolment.
 *
 * One Windows PowerShell call per protect/unprotect (once at enrolment, once per agent start):
 * the script travels as `-EncodedCommand`, the key material only on stdin and stdout (base64),
 * never on a command line; the call is killed after `timeoutMs`. On other systems ProtectedData
 * throws PlatformNotSupportedException, which surfaces as a DpapiError naming it.
 */
import { spawn } from 'node:child_process';
import type { KeyProtector } from './host-key.js';

// Errors are written as one plain line (PowerShell would otherwise serialise them as CLIXML when
// its streams are redirected) and end the call with exit code 1.
const SCRIPT = (operation: 'Protect' | 'Unprotect') => `
$ErrorActionPreference = 'Stop'
try {
  try { Add-Type -AssemblyName System.Security } catch { }
  $data = [Convert]::FromBase64String([Console]::In.ReadToEnd().Trim())
  $scope = [System.Security.Cryptography.DataProtectionScope]::LocalMachine
  $out = [System.Security.Cryptography.ProtectedData]::${operation}($data, $null, $scope)
  [Console]::Out.Write([Convert]::ToBase64String($out))
} catch {
  $e = $_.Exception.GetBaseException()
  [Console]::Error.WriteLine($e.GetType().Name + ': ' + $e.Message)
  exit 1
}
`;

export class DpapiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DpapiError';
  }
}

export interface DpapiOptions {
  /** `powershell.exe` (Windows PowerShell 5.1, the default) or `pwsh`, or the full path of either. */
  executable?: string;
  timeoutMs?: number;
}

function run(operation: 'Protect' | 'Unprotect', input: Buffer, options: DpapiOptions): Promise<Buffer> {
  const executable = options.executable ?? 'powershell.exe';
  const encoded = Buffer.from(SCRIPT(operation), 'utf16le').toString('base64');
  const args = [
    '-NoLogo',
    '-NoProfile',
    '-NonInteractive',
    '-ExecutionPolicy',
    'Bypass',
    '-EncodedCommand',
    encoded,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new DpapiError(
          `DPAPI ${operation} could not start ${executable} (${(error as NodeJS.ErrnoException).code ?? error.message})`,
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(Buffer.from(Buffer.concat(out).toString('utf8').trim(), 'base64'));
        return;
      }
      // stderr names the exception (e.g. PlatformNotSupportedException); it holds no key material.
      const reason =
        Buffer.concat(err)
          .toString('utf8')
          .split(/\r?\n/)
          .find((l) => l.trim()) ?? `exit ${code ?? signal}`;
      reject(new DpapiError(`DPAPI ${operation} failed: ${reason.trim().slice(0, 300)}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input.toString('base64'));
  });
}

/** The host key protected with DPAPI (LocalMachine). */
export function dpapiProtector(options: DpapiOptions = {}): KeyProtector {
  return {
    name: 'dpapi-localmachine',
    protect: (secret) => run('Protect', secret, options),
    unprotect: (stored) => run('Unprotect', stored, options),
  };
}
