/**
 * What the publisher needs from the share: list, read, create a new file durably, rename over an
 * existing one, remove. `FolderShare` implements it with node:fs on a folder path — on Windows a
 * UNC path (`\\server\ccs`) read and written by the agent's own identity, as the inventory reads
 * it; locally the demo share's folder. Errors are mapped to a few kinds a caller can act on.
 */
import { constants } from 'node:fs';
import { open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** One file directly in the share. */
export interface ShareEntry {
  name: string;
  size: number;
  /** Last write time, milliseconds since the epoch (the file server's clock). */
  mtimeMs: number;
}

export interface PublishShare {
  /** Every regular file directly in the share (no folders), any name. */
  list(): Promise<ShareEntry[]>;
  read(name: string): Promise<Buffer>;
  /** Writes a NEW file (fails if `name` exists) and flushes it to stable storage before resolving. */
  create(name: string, bytes: Buffer): Promise<void>;
  /** Renames `from` to `to`, replacing `to` in one step: a reader sees the old file or the new one. */
  replace(from: string, to: string): Promise<void>;
  /** Removes `name`; a file that is already gone is not an error. */
  remove(name: string): Promise<void>;
}

export type ShareErrorKind = 'read-only' | 'full' | 'unavailable' | 'exists' | 'not-found' | 'other';

/** A share operation that failed, with the kind that decides what the publisher says. */
export class ShareError extends Error {
  constructor(
    readonly kind: ShareErrorKind,
    readonly operation: string,
    readonly file: string,
    readonly osCode: string | undefined,
  ) {
    super(`Share ${operation} of '${file}' failed: ${kind}${osCode ? ` (${osCode})` : ''}`);
    this.name = 'ShareError';
  }
}

/**
 * node:fs error codes → kinds. On Windows, libuv maps ERROR_ACCESS_DENIED / ERROR_WRITE_PROTECT to
 * EPERM/EACCES/EROFS, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL to ENOSPC, a missing share or
 * network path to ENOENT/ENOTDIR; a quota is EDQUOT on POSIX file systems.
 */
export function kindOf(code: string | undefined): ShareErrorKind {
  switch (code) {
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return 'read-only';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'full';
    case 'EEXIST':
      return 'exists';
    case 'ENOENT':
      return 'not-found';
    case 'ENOTDIR':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'EIO':
      return 'unavailable';
    default:
      return 'other';
  }
}

async function mapped<T>(operation: string, file: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ShareError(kindOf(code), operation, file, code);
  }
}

export class FolderShare implements PublishShare {
  constructor(private readonly folder: string) {}

  list(): Promise<ShareEntry[]> {
    return mapped('list', '.', async () => {
      const entries = await readdir(this.folder, { withFileTypes: true });
      const files = entries.filter((e) => e.isFile());
      const stats = await Promise.all(
        files.map(async (e) => {
          try {
            const s = await stat(join(this.folder, e.name));
            return { name: e.name, size: s.size, mtimeMs: s.mtimeMs };
          } catch {
            return null; // removed between the listing and the stat
          }
        }),
      );
      return stats.filter((s): s is ShareEntry => s !== null).sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  read(name: string): Promise<Buffer> {
    return mapped('read', name, () => readFile(join(this.folder, name)));
  }

  create(name: string, bytes: Buffer): Promise<void> {
    return mapped('create', name, async () => {
      const handle = await open(
        join(this.folder, name),
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        0o644,
      );
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  replace(from: string, to: string): Promise<void> {
    return mapped('rename', to, () => rename(join(this.folder, from), join(this.folder, to)));
  }

  remove(name: string): Promise<void> {
    return mapped('remove', name, () => rm(join(this.folder, name), { force: true }));
  }
}
