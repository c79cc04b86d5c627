/**
 * Runs one of the agent's PowerShell scripts (agent/powershell/*.ps1) and speaks their protocol
 * (described in agent/powershell/CcsCommon.ps1):
 *
 * - `<exe> -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <script>`: the command
 *   line names the script and nothing else (never a secret, never a value from a command);
 * - the input is one JSON object on stdin, ASCII-escaped so that no console code page can alter it;
 *   secrets travel only there;
 * - the answer is one JSON object, the last line of stdout: `{ ok: true, result }` or
 *   `{ ok: false, error: { code, message, cmdlet, win32, rebootRequired } }`; exit code 3010 means
 *   Windows must restart;
 * - every call has a timeout: a hung PowerShell is killed with its whole process tree and reported
 *   as `Timeout`;
 * - calls are serialised: IIS configuration is changed by one script at a time.
 *
 * The child's environment is the agent's minus anything that looks like a credential (Azure
 * client secrets, managed-identity headers, connection strings, tokens): a script needs none.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';

/** Stable codes of a failed call: the scripts' own, the backend's store check, and the runner's (last four). */
export type PowerShellErrorCode =
  | 'InvalidInput'
  | 'ModuleUnavailable'
  | 'FeatureCheckFailed'
  | 'FeatureUnavailable'
  | 'FeatureNotInstalled'
  | 'FeatureInstallFailed'
  | 'RebootRequired'
  | 'CmdletFailed'
  | 'UnexpectedState'
  | 'Unexpected'
  | 'StoreCheckFailed'
  | 'Timeout'
  | 'PowerShellNotFound'
  | 'ProtocolError'
  | 'OutputTooLarge';

export class PowerShellError extends Error {
  constructor(
    /** A stable code (PowerShellErrorCode, or a newer script's code passed through). */
    readonly code: string,
    message: string,
    readonly script: string,
    readonly details: {
      cmdlet?: string | null;
      win32?: number | null;
      rebootRequired?: boolean;
      exitCode?: number | null;
    } = {},
  ) {
    super(`${message} [${code}]`);
    this.name = 'PowerShellError';
  }

  get rebootRequired(): boolean {
    return this.details.rebootRequired === true || this.code === 'RebootRequired';
  }
}

export interface PowerShellRunnerOptions {
  /** What to start: an absolute path, or a name looked up on PATH. */
  executable: string;
  /** The folder holding the .ps1 files. */
  scriptsDir: string;
  /** Default timeout of one call. */
  timeoutMs: number;
  /**
   * Tests only: a module the scripts import instead of IISAdministration and the Windows feature
   * cmdlets (passed as `-TestModule`). The agent's configuration has no way to set it.
   */
  testModule?: string;
  /** Tests only: variables added to the child's environment (never a secret). */
  env?: Record<string, string>;
  /** Tests only: called with the child's pid as soon as it runs. */
  onSpawn?: (child: { pid: number; script: string }) => void;
  platform?: NodeJS.Platform;
}

export interface RunOptions {
  /** Overrides the default timeout (installing a Windows feature takes minutes). */
  timeoutMs?: number;
}

/**
 * Whether an exit code is the scripts' "Windows must restart" (3010). POSIX keeps only the low 8
 * bits of an exit status, so there (the tests' pwsh) 3010 arrives as 194.
 */
export function isRebootExitCode(code: number | null, platform: NodeJS.Platform = process.platform): boolean {
  return code === 3010 || (platform !== 'win32' && code === (3010 & 0xff));
}

/** The most either stream may carry; more means something is badly wrong. */
export const MAX_OUTPUT_BYTES = 1 << 20;

const ErrorSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string(),
  cmdlet: z.string().nullish(),
  win32: z.number().int().nullish(),
  rebootRequired: z.boolean().optional(),
});
const EnvelopeSchema = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorSchema }),
]);

/** Environment variables never passed to a script: the agent's own credentials. */
const CREDENTIAL_VARIABLE =
  /SECRET|PASSWORD|PASSWD|TOKEN|CONNECTION_?STRING|IDENTITY_HEADER|CREDENTIAL|_KEY$/i;

export function childEnvironment(
  base: Record<string, string | undefined>,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !CREDENTIAL_VARIABLE.test(name)) env[name] = value;
  }
  return {
    ...env,
    ...extra,
    POWERSHELL_TELEMETRY_OPTOUT: '1',
    POWERSHELL_UPDATECHECK: 'Off',
  };
}

/** JSON with every non-ASCII character escaped: bytes any console code page reads the same. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Blank every secret value (longest first) out of a text that may be logged or reported — as
 * written, JSON-escaped, and ASCII-escaped as it went to the script's stdin (asciiJson), so an
 * echo of the input cannot carry it out either. Redact before any truncation: a cut through a
 * secret would leave a piece of it that no longer matches.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const forms = secrets
    .filter((s) => s.length > 0)
    .flatMap((s) => [s, JSON.stringify(s).slice(1, -1), asciiJson(s).slice(1, -1)]);
  let out = text;
  for (const secret of [...new Set(forms)].sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('***');
  }
  return out;
}

/** Reads the answer line; undefined when stdout holds none. */
export function parseAnswer(stdout: string): z.infer<typeof EnvelopeSchema> | undefined {
  const lines = stdout.split(/\r?\n/).filter((line) => line.trim().startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    try {
      const parsed = EnvelopeSchema.safeParse(JSON.parse(lines[i]!));
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON: keep looking upwards
    }
  }
  return undefined;
}

function killTree(pid: number, platform: NodeJS.Platform): void {
  if (platform === 'win32') {
    // /T: everything it started too; /F: not a polite request, which a hung process would ignore.
    const killer = spawn('taskkill', ['/PID', String(pid), '/T', '/F'], {
      windowsHide: true,
      stdio: 'ignore',
    });
    killer.on('error', () => undefined);
    return;
  }
  try {
    process.kill(-pid, 'SIGKILL'); // the child leads its own process group (spawned detached)
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export class PowerShellRunner {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PowerShellRunnerOptions) {}

  /**
   * Run `script` with `input` on stdin and return its `result`. `secrets` are the secret values in
   * `input`: they are blanked out of any text that ends up in an error.
   */
  run(
    script: string,
    input: Record<string, unknown>,
    secrets: readonly string[] = [],
    options: RunOptions = {},
  ): Promise<unknown> {
    const call = this.tail.then(
      () => this.runNow(script, input, secrets, options),
      () => this.runNow(script, input, secrets, options),
    );
    this.tail = call.catch(() => undefined);
    return call;
  }

  private runNow(
    script: string,
    input: Record<string, unknown>,
    secrets: readonly string[],
    options: RunOptions,
  ): Promise<unknown> {
    const { executable, scriptsDir, testModule } = this.options;
    const platform = this.options.platform ?? process.platform;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const args = [
      '-NoLogo',
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-File',
      join(scriptsDir, script),
      ...(testModule ? ['-TestModule', testModule] : []),
    ];
    const fail = (code: PowerShellErrorCode, message: string, details?: PowerShellError['details']) =>
      new PowerShellError(code, redactSecrets(message, secrets), script, details);

    return new Promise<unknown>((resolve, reject) => {
      const child = spawn(executable, args, {
        env: childEnvironment(process.env, this.options.env),
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
        // Its own process group on POSIX, so a timeout kills everything it started.
        detached: platform !== 'win32',
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let size = 0;
      let settled = false;
      let failure: PowerShellError | undefined;

      const stop = (error: PowerShellError) => {
        if (failure) return;
        failure = error;
        if (child.pid !== undefined) killTree(child.pid, platform);
        // If the process never closes (a kill that did not take), answer anyway.
        setTimeout(() => finish(), 10_000).unref();
      };
      const timer = setTimeout(
        () =>
          stop(
            fail(
              'Timeout',
              `${script} did not answer within ${Math.round(timeoutMs / 1000)} s; the PowerShell process was stopped`,
            ),
          ),
        timeoutMs,
      );
      const collect = (chunks: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_OUTPUT_BYTES * 2) {
          stop(fail('OutputTooLarge', `${script} wrote more than ${MAX_OUTPUT_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      };
      child.stdout.on('data', collect(stdout));
      child.stderr.on('data', collect(stderr));

      const finish = (exitCode: number | null = null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure) {
          reject(failure);
          return;
        }
        const out = Buffer.concat(stdout).toString('utf8');
        const err = Buffer.concat(stderr).toString('utf8').trim();
        const answer = parseAnswer(out);
        const rebootExit = isRebootExitCode(exitCode, platform);
        if (answer?.ok === true) {
          resolve(answer.result);
          return;
        }
        if (answer?.ok === false) {
          const { code, message, cmdlet, win32, rebootRequired } = answer.error;
          reject(
            new PowerShellError(code, redactSecrets(message, secrets), script, {
              cmdlet: cmdlet ?? null,
              win32: win32 ?? null,
              rebootRequired: rebootRequired === true || rebootExit,
              exitCode,
            }),
          );
          return;
        }
        if (rebootExit) {
          reject(
            fail('RebootRequired', `${script} exited with 3010: Windows must restart`, {
              rebootRequired: true,
              exitCode,
            }),
          );
          return;
        }
        // Never the child's raw output (issue 17): it may echo its input, secrets included.
        reject(
          fail(
            'ProtocolError',
            `${script} exited with code ${exitCode} without an answer (${out.length} characters on stdout, ${err.length} on stderr; child output is not reported)`,
            {
              exitCode,
            },
          ),
        );
      };

      child.on('error', (error: NodeJS.ErrnoException) => {
        if (!failure) {
          failure = fail(
            'PowerShellNotFound',
            `cannot start ${executable} (${error.code ?? error.message}); set powershell.executable`,
          );
        }
        finish();
      });
      child.on('close', (code) => finish(code));
      if (child.pid !== undefined) this.options.onSpawn?.({ pid: child.pid, script });

      child.stdin.on('error', () => undefined); // a script that exits early closes its stdin
      child.stdin.end(asciiJson(input));
    });
  }
}
