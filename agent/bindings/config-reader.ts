/**
 * Reads a server's CCS bindings from IIS's own configuration files, cheaply enough for every
 * drift check: each call stats redirection.config and applicationHost.config and parses only a
 * file whose timestamp or size changed since the last call (no PowerShell, no child process).
 *
 * Shared configuration is honoured: when redirection.config in the configuration folder
 * (`%windir%\System32\inetsrv\config`) enables `configurationRedirection`, the bindings come from
 * the applicationHost.config in its `path`, as IIS reads them. IIS reads that folder as the
 * redirection's `userName`; the agent reads it as its own identity (the computer account on a
 * domain member), which therefore needs read access to it — otherwise the read fails with a
 * clear error (docs/agent.md).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../../shared/errors.js';
import type { CcsBinding } from '../../shared/messages.js';
import { expandEnvironmentVariables } from '../../shared/paths.js';
import { IisConfigError, parseCcsBindings, parseRedirection } from './iis-config.js';

export const APPLICATION_HOST_CONFIG = 'applicationHost.config';
export const REDIRECTION_CONFIG = 'redirection.config';

export interface IisConfigLocation {
  /** IIS's configuration folder on this machine (`%windir%\System32\inetsrv\config`). */
  configDir: string;
  /**
   * Where a redirected configuration folder (a Windows path such as `\\server\share`) is on this
   * machine's file system; null when it cannot be reached. Default: the path itself (Windows).
   */
  locateFolder?: (path: string) => Promise<string | null>;
  /** For `%VAR%` in a redirection path. */
  environment?: Record<string, string | undefined>;
}

/** A file's identity for change detection: its path, last write time and size. */
async function stamp(file: string): Promise<string | null> {
  try {
    const info = await stat(file);
    return `${file}|${info.mtimeMs}|${info.size}|${info.ino}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw describe(file, error);
  }
}

function describe(file: string, error: unknown): Error {
  if (error instanceof IisConfigError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'error';
  return new IisConfigError(file, `cannot be read by the agent's identity (${code})`);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw describe(file, error);
  }
}

export class IisBindingsReader {
  private redirection: { stamp: string; path: string | null } | null = null;
  private bindings: { stamp: string; list: CcsBinding[] } | null = null;

  constructor(private readonly location: IisConfigLocation) {}

  /** The CCS bindings IIS has now; an empty list when IIS is not installed. Throws IisConfigError. */
  async read(): Promise<CcsBinding[]> {
    const folder = await this.configFolder();
    const file = join(folder.path, APPLICATION_HOST_CONFIG);
    const current = await stamp(file);
    if (current === null) {
      if (folder.redirected) throw new IisConfigError(file, 'the shared configuration has no such file');
      this.bindings = null;
      return []; // no applicationHost.config: IIS is not installed, so nothing is bound
    }
    if (this.bindings?.stamp !== current) {
      this.bindings = { stamp: current, list: parseCcsBindings(await readText(file), file) };
    }
    return this.bindings.list;
  }

  /** IIS's own folder, or the shared configuration's when redirection.config enables it. */
  private async configFolder(): Promise<{ path: string; redirected: boolean }> {
    const { configDir } = this.location;
    const file = join(configDir, REDIRECTION_CONFIG);
    const current = await stamp(file);
    if (current === null) {
      this.redirection = null;
    } else if (this.redirection?.stamp !== current) {
      this.redirection = { stamp: current, path: parseRedirection(await readText(file), file) };
    }
    const redirected = this.redirection?.path ?? null;
    if (redirected === null) return { path: configDir, redirected: false };
    const windowsPath = this.expand(redirected, file);
    const local = this.location.locateFolder ? await this.location.locateFolder(windowsPath) : windowsPath;
    if (local === null) {
      throw new IisConfigError(windowsPath, 'the shared configuration folder cannot be reached');
    }
    return { path: local, redirected: true };
  }

  private expand(path: string, file: string): string {
    if (!path.includes('%')) return path;
    try {
      return expandEnvironmentVariables(path, this.location.environment ?? {});
    } catch (error) {
      if (error instanceof DomainError) throw new IisConfigError(file, error.message);
      throw error;
    }
  }
}
