/**
 * The `powershell` backend: IIS's Central Certificate Store on a real Windows server, through the
 * IISAdministration module, driven by the scripts in agent/powershell/ (readable, reviewable and
 * tested on their own; see agent/powershell/CcsCommon.ps1 for the protocol).
 *
 * | Backend method   | How                                                                          |
 * | ---------------- | ---------------------------------------------------------------------------- |
 * | readActual       | the registry, in-process (iis-registry.ts): no child process, ever           |
 * | apply            | Set-CcsProvider.ps1: Enable-/Set-/Disable-/Clear-IISCentralCertProvider;     |
 * |                  | when the feature is missing, Install-CcsFeature.ps1 first, then again        |
 * | checkStoreAccess | Test-CcsShare.ps1: LogonUser + impersonation (list, read one .pfx), then the |
 * |                  | same read as the agent itself                                                |
 * | listPfx, statPfx, readFile | node:fs, as the agent's own identity (computer account)            |
 * | readBindings     | agent/bindings/: applicationHost.config parsed in node when its timestamp changed |
 *
 * A feature install that needs a restart (exit code 3010, RestartNeeded) fails the apply with
 * `RebootRequired`, and from then on `readActual` reports `rebootRequired: true` (the host shows
 * as `reboot_required` in the API) until Windows has restarted.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ActualState, CcsBinding } from '../../shared/messages.js';
import { IisBindingsReader } from '../bindings/config-reader.js';
import type { AccessOutcome, Backend, PfxFileStat, ResolvedDesired, StoreAccess } from './backend.js';
import { readIisState } from './iis-registry.js';
import { PowerShellError, PowerShellRunner, type PowerShellRunnerOptions } from './powershell-runner.js';
import { storeAccessFailure } from './store-access.js';
import { Win32RegistryReader, type RegistryReader } from './windows-registry.js';

export { PowerShellError } from './powershell-runner.js';

/** Default time one script may take (seconds). */
export const DEFAULT_TIMEOUT_SECONDS = 120;
/** Installing a Windows feature may take this long (seconds) before it counts as hung. */
export const FEATURE_INSTALL_TIMEOUT_SECONDS = 1800;

export interface PowerShellBackendOptions {
  /** `powershell.exe` (Windows PowerShell 5.1, the default on Windows), `pwsh`, or a path. */
  executable?: string;
  /** Time one call may take before PowerShell is killed (default 120 s). */
  timeoutSeconds?: number;
  /** Where the .ps1 files are (default: agent/powershell next to this code). */
  scriptsDir?: string;
  /** Time a feature install may take (default max(timeoutSeconds, 1800 s)). */
  featureInstallTimeoutSeconds?: number;
  /** Tests only — see PowerShellRunnerOptions. Never set from the agent's configuration. */
  testModule?: string;
  /** Tests only — see PowerShellRunnerOptions. */
  env?: Record<string, string>;
  /** Tests only — see PowerShellRunnerOptions. */
  onSpawn?: PowerShellRunnerOptions['onSpawn'];
  /** Tests only: the stand-in's registry instead of HKLM (default: advapi32 through koffi). */
  registry?: RegistryReader;
  platform?: NodeJS.Platform;
  /** Environment used to locate Windows folders (default process.env). */
  environment?: Record<string, string | undefined>;
  /** IIS's configuration folder (default `%windir%\System32\inetsrv\config`); tests point it elsewhere. */
  inetsrvConfigDir?: string;
}

/** One side of Test-CcsShare.ps1's answer: 0 or the Windows error, and where it happened. */
const ProbeSchema = z.object({
  win32: z.number().int(),
  stage: z.enum(['logon', 'list', 'read']).nullable(),
});

/** What Test-CcsShare.ps1 answers. */
export const ShareCheckSchema = z.object({
  identity: ProbeSchema.extend({
    files: z.number().int().nonnegative(),
    pfx: z.object({ name: z.string().min(1), base64: z.string() }).nullable(),
  }),
  agent: ProbeSchema.nullable(),
});
export type ShareCheck = z.infer<typeof ShareCheckSchema>;

const InstallResultSchema = z.object({ installed: z.boolean(), changed: z.boolean() });

/**
 * The program to start. On Windows, Windows PowerShell by its full path under %SystemRoot% (a
 * service must not depend on PATH order), and pwsh from its standard folder when present.
 */
export function resolvePowerShellExecutable(
  executable: string | undefined,
  platform: NodeJS.Platform = process.platform,
  env: Record<string, string | undefined> = process.env,
): string {
  const name = (executable ?? (platform === 'win32' ? 'powershell.exe' : 'pwsh')).trim();
  if (platform !== 'win32') return name;
  const lower = name.toLowerCase();
  if (lower === 'powershell.exe' || lower === 'powershell') {
    const root = env.SystemRoot ?? env.windir ?? 'C:\\Windows';
    return `${root}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`;
  }
  if (lower === 'pwsh' || lower === 'pwsh.exe') {
    const standard = `${env.ProgramFiles ?? 'C:\\Program Files'}\\PowerShell\\7\\pwsh.exe`;
    return existsSync(standard) ? standard : 'pwsh.exe';
  }
  return name;
}

/** agent/powershell, from the sources (agent/backends) or from the build (dist/agent/backends). */
export function defaultScriptsDir(): string {
  const candidates = [
    fileURLToPath(new URL('../powershell/', import.meta.url)),
    fileURLToPath(new URL('../../../agent/powershell/', import.meta.url)),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'Get-CcsState.ps1'))) ?? candidates[0]!;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class PowerShellBackend implements Backend {
  readonly name = 'powershell';
  private readonly runner: PowerShellRunner;
  private readonly installTimeoutMs: number;
  private registry: RegistryReader | undefined;
  /** Set when a feature install asked for a restart; a restart also restarts the agent. */
  private restartAsked = false;
  private readonly bindings: IisBindingsReader;

  constructor(options: PowerShellBackendOptions = {}) {
    const platform = options.platform ?? process.platform;
    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    this.installTimeoutMs =
      (options.featureInstallTimeoutSeconds ?? Math.max(timeoutSeconds, FEATURE_INSTALL_TIMEOUT_SECONDS)) *
      1000;
    this.runner = new PowerShellRunner({
      executable: resolvePowerShellExecutable(options.executable, platform, options.environment),
      scriptsDir: options.scriptsDir ?? defaultScriptsDir(),
      timeoutMs: timeoutSeconds * 1000,
      testModule: options.testModule,
      env: options.env,
      onSpawn: options.onSpawn,
      platform,
    });
    this.registry = options.registry;
    const environment = options.environment ?? process.env;
    const windir = environment.windir ?? environment.SystemRoot ?? 'C:\\Windows';
    this.bindings = new IisBindingsReader({
      configDir: options.inetsrvConfigDir ?? win32.join(windir, 'System32', 'inetsrv', 'config'),
      environment,
    });
  }

  /** The CCS bindings of applicationHost.config (or of the shared configuration it is redirected to). */
  readBindings(): Promise<CcsBinding[]> {
    return this.bindings.read();
  }

  /** From the registry, in this process: the drift check runs this every minute. */
  readActual(): Promise<ActualState> {
    try {
      this.registry ??= new Win32RegistryReader();
      return Promise.resolve(readIisState(this.registry, this.restartAsked));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Test-CcsShare.ps1: as the identity (LogonUser + impersonation, its own logon session), then as
   * the agent. A Windows error that says nothing about the input (1311 no domain controller, a
   * network timeout, anything unknown) is thrown, so the command is retried rather than refused.
   */
  async checkStoreAccess(path: string, username: string, password: string): Promise<StoreAccess> {
    const check = await this.checkShare(path, username, password);
    const outcome = (side: 'identity' | 'agent', probe: ShareCheck['agent']): AccessOutcome => {
      if (probe === null || probe.win32 === 0) return { ok: true };
      const failure = storeAccessFailure(probe.win32);
      if (failure) return { ok: false, failure, win32: probe.win32 };
      throw new PowerShellError(
        'StoreCheckFailed',
        `The store could not be checked as the ${side === 'identity' ? 'identity' : 'agent'} (${probe.stage ?? 'check'}: Windows error ${probe.win32})`,
        'Test-CcsShare.ps1',
        { win32: probe.win32 },
      );
    };
    const identity = outcome('identity', check.identity);
    if (!identity.ok) return { identity, agent: null };
    const pfx = check.identity.pfx;
    return {
      identity: { ok: true, pfx: pfx ? { name: pfx.name, bytes: Buffer.from(pfx.base64, 'base64') } : null },
      agent: check.agent ? outcome('agent', check.agent) : null,
    };
  }

  /** Test-CcsShare.ps1's answer as it is (the password travels on stdin only). */
  async checkShare(path: string, username: string, password: string): Promise<ShareCheck> {
    return ShareCheckSchema.parse(
      await this.runner.run('Test-CcsShare.ps1', { path, username, password }, [password]),
    );
  }

  async listPfx(path: string): Promise<string[]> {
    const entries = await readdir(path, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.pfx'))
      .map((e) => e.name)
      .sort();
  }

  async statPfx(path: string): Promise<PfxFileStat[]> {
    const stats: PfxFileStat[] = [];
    for (const name of await this.listPfx(path)) {
      try {
        const info = await stat(join(path, name));
        if (info.isFile()) stats.push({ name, size: info.size, mtimeMs: Math.trunc(info.mtimeMs) });
      } catch (error) {
        if (!isMissing(error)) throw error; // removed since the listing: simply not there any more
      }
    }
    return stats;
  }

  async readFile(path: string, fileName: string): Promise<Buffer> {
    if (fileName.includes('/') || fileName.includes('\\') || fileName === '..' || fileName === '.') {
      throw new Error('A file name, not a path, is expected');
    }
    return readFile(join(path, fileName));
  }

  async apply(desired: ResolvedDesired): Promise<void> {
    const input: Record<string, unknown> = desired.enabled
      ? {
          enabled: true,
          path: desired.path,
          username: desired.username,
          password: desired.password,
          privateKeyPassword: desired.privateKeyPassword,
        }
      : { enabled: false };
    const secrets = desired.enabled ? [desired.password, desired.privateKeyPassword ?? ''] : [];
    try {
      await this.setProvider(input, secrets);
    } catch (error) {
      if (!(error instanceof PowerShellError) || error.code !== 'FeatureNotInstalled' || !desired.enabled) {
        throw error;
      }
      await this.installFeature();
      await this.setProvider(input, secrets);
    }
  }

  private async setProvider(input: Record<string, unknown>, secrets: string[]): Promise<void> {
    try {
      await this.runner.run('Set-CcsProvider.ps1', input, secrets);
    } catch (error) {
      if (error instanceof PowerShellError && error.rebootRequired) this.restartAsked = true;
      throw error;
    }
  }

  /** Install-CcsFeature.ps1, with the long timeout. */
  async installFeature(): Promise<{ installed: boolean; changed: boolean }> {
    try {
      return InstallResultSchema.parse(
        await this.runner.run('Install-CcsFeature.ps1', {}, [], { timeoutMs: this.installTimeoutMs }),
      );
    } catch (error) {
      if (error instanceof PowerShellError && error.rebootRequired) this.restartAsked = true;
      throw error;
    }
  }
}
