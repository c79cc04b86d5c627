/**
 * The scan an elected host runs when the API sends it a `scan` command (docs/certificates.md).
 *
 * 1. The share is the one this host applied (its applied desired state: path expanded here,
 *    the private-key password fetched by its Key Vault reference), read by the agent's own
 *    identity through the backend — on Windows the computer account, as IIS's CCS reads it.
 * 2. One listing with size and last write time (`statPfx`). A file whose name, size and time
 *    match the cache is not read again; a new or changed file is read and parsed (only its
 *    certificate bags are decrypted, never its key bag). A new name whose bytes equal those of
 *    a vanished one is a rename: reported as such, not parsed again.
 * 3. The result goes out in chunks under the queue message limit: a delta (new and changed
 *    entries, removed and renamed names) or — when the API asks, or when this host's cache
 *    cannot serve as the base of a delta — every entry (`full`).
 * 4. The cache is saved only once every chunk is on the reports queue: if sending fails, the
 *    command comes back and the same delta is sent again (the API folds it idempotently).
 *
 * Reports carry metadata only: no key material, no PFX bytes, no password.
 */
import { createHash } from 'node:crypto';
import {
  describeCertificateFile,
  describeOversizeFile,
  type FileStat,
} from '../../shared/certificates/describe.js';
import type { InventoryFile } from '../../shared/certificates/metadata.js';
import {
  MESSAGE_VERSION,
  ReportSchema,
  type HostError,
  type InventoryReport,
  type ScanCommand,
  type SecretRef,
} from '../../shared/messages.js';
import { MAX_PFX_BYTES } from '../../shared/pkcs12/pfx.js';
import type { Backend } from '../backends/backend.js';
import type { Logger } from '../log.js';
import { localPath } from '../preflight.js';
import type { ReportSink } from '../queue.js';
import { SecretUnavailableError, type SecretCache } from '../secrets.js';
import type { StateStore } from '../state.js';
import type { CachedFile, InventoryCacheStore } from './cache.js';
import { CHUNK_BYTES, chunkReports, type ReportBase } from './chunks.js';
import { ReadAhead } from './read-ahead.js';

export interface ScannerDeps {
  ccsId: string;
  hostName: string;
  backend: Backend;
  secrets: SecretCache;
  state: StateStore;
  cache: InventoryCacheStore;
  reports: ReportSink;
  environment: Record<string, string | undefined>;
  log: Logger;
  now: () => Date;
  /** Parses one file (shared/certificates/describe.ts); replaceable in tests. */
  describe?: (stat: FileStat, bytes: Buffer, password: string) => InventoryFile;
  chunkBytes?: number;
}

export interface ScanOutcome {
  scanSeq: number;
  full: boolean;
  files: number;
  /** Files read and parsed this time. */
  parsed: number;
  /** Files taken from the cache without being opened. */
  reused: number;
  upserts: number;
  removed: number;
  renamed: number;
  chunks: number;
  error: string | null;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

const cacheKey = (path: string, ref: SecretRef | null): string =>
  `${path.toLowerCase()}|${ref ? `${ref.name}@${ref.version}` : 'no-password'}`;

const isMissing = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

export class InventoryScanner {
  private readonly describe: NonNullable<ScannerDeps['describe']>;

  constructor(private readonly deps: ScannerDeps) {
    this.describe = deps.describe ?? describeCertificateFile;
  }

  async scan(command: ScanCommand): Promise<ScanOutcome> {
    const { state, log } = this.deps;
    const applied = await state.load();
    const base = (full: boolean, files: number, error: HostError | null): ReportBase => ({
      v: MESSAGE_VERSION,
      type: 'inventory',
      ccsId: this.deps.ccsId,
      host: this.deps.hostName,
      scanSeq: command.scanSeq,
      generation: applied.appliedGeneration,
      full,
      files,
      error,
      at: this.deps.now().toISOString(),
    });
    const failed = async (error: HostError): Promise<ScanOutcome> => {
      await this.send([
        {
          ...base(command.full, 0, error),
          chunk: { index: 0, count: 1 },
          upserts: [],
          removed: [],
          renamed: [],
        },
      ]);
      log.warn('inventory scan failed', { scanSeq: command.scanSeq, code: error.code });
      return { ...empty(command), error: error.code };
    };

    const desired = applied.desired;
    const path = desired?.enabled && desired.path ? localPath(desired.path, this.deps.environment) : null;
    if (!desired?.enabled || path === null || applied.appliedGeneration < command.generation) {
      return failed({
        name: 'host',
        code: 'NotApplied',
        detail: 'This host has not applied the desired state the scan is for',
        status: 409,
      });
    }
    let password = '';
    if (desired.privateKeyPassword) {
      try {
        password = await this.deps.secrets.get(desired.privateKeyPassword);
      } catch (error) {
        if (!(error instanceof SecretUnavailableError)) throw error;
        return failed({
          name: 'private_key_password',
          code: 'SecretUnavailable',
          detail: error.message,
          status: 502,
        });
      }
    }

    let listing: FileStat[];
    try {
      listing = await this.list(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException | undefined)?.code ?? 'error';
      return failed({
        name: 'path',
        code: 'ShareUnreadable',
        detail: `The agent's own identity cannot list the certificate store (${reason})`,
        status: 502,
      });
    }

    const key = cacheKey(path, desired.privateKeyPassword);
    const loaded = await this.deps.cache.load().catch(() => null);
    const previous = loaded && loaded.key === key ? loaded.files : null;
    // Without a cache that matches, a delta has no base: send everything.
    const full = command.full || previous === null;
    const before = previous ?? new Map<string, CachedFile>();

    // Vanished files by content hash: a new name with the same bytes is a rename.
    const present = new Set(listing.map((f) => f.name.toLowerCase()));
    const vanished = [...before.entries()].filter(([lower]) => !present.has(lower)).map(([, f]) => f);
    const unclaimed = vanished.filter((f) => f.sha256 !== '');
    const renamed: { from: string; to: string }[] = [];

    const next = new Map<string, CachedFile>();
    const upsertsDelta: InventoryFile[] = [];
    let parsed = 0;
    let reused = 0;
    // Unreadable files (no hash) are tried again at every scan: access may have been fixed.
    const unchanged = (stat: FileStat, cached: CachedFile | undefined): boolean =>
      cached?.name === stat.name &&
      cached.size === stat.size &&
      cached.mtimeMs === stat.mtimeMs &&
      cached.sha256 !== '';
    const toRead = listing.filter(
      (stat) => stat.size <= MAX_PFX_BYTES && !unchanged(stat, before.get(stat.name.toLowerCase())),
    );
    const reads = new ReadAhead(
      toRead.map((stat) => stat.name),
      (name) => this.deps.backend.readFile(path, name),
    );
    for (const stat of listing) {
      const lower = stat.name.toLowerCase();
      const cached = before.get(lower);
      if (cached && unchanged(stat, cached)) {
        next.set(lower, cached);
        reused++;
        continue;
      }
      const file = await this.read(reads, stat, password, cached, unclaimed, renamed);
      if (file === null) continue; // gone since the listing
      if (file.parsed) parsed++;
      else reused++;
      next.set(lower, file.cached);
      if (!cached || JSON.stringify(cached.entry) !== JSON.stringify(file.cached.entry)) {
        upsertsDelta.push(file.cached.entry);
      }
    }
    // Vanished from the listing, or between the listing and the read.
    const gone = [...before.values()].filter((f) => !next.has(f.name.toLowerCase()));

    const upserts = full ? [...next.values()].map((f) => f.entry) : upsertsDelta;
    const removed = full ? [] : gone.map((f) => f.name);
    const reports = chunkReports(
      base(full, next.size, null),
      { upserts, removed, renamed: full ? [] : renamed },
      this.deps.chunkBytes ?? CHUNK_BYTES,
    );
    await this.send(reports);
    try {
      if (previous === null || upsertsDelta.length > 0 || gone.length > 0 || next.size !== before.size) {
        await this.deps.cache.save({ key, files: next });
      }
    } catch (error) {
      // The next scan re-reads what changed and sends it again: harmless.
      log.warn('could not save the inventory cache', {
        error: error instanceof Error ? error.message : 'unknown',
      });
    }
    const outcome: ScanOutcome = {
      scanSeq: command.scanSeq,
      full,
      files: next.size,
      parsed,
      reused,
      upserts: upserts.length,
      removed: removed.length,
      renamed: full ? 0 : renamed.length,
      chunks: reports.length,
      error: null,
    };
    log.info('inventory scan done', { ...outcome });
    return outcome;
  }

  /**
   * Read one new or changed file. Its bytes are hashed first: the same bytes as the cached entry
   * of this name (touched, not changed) or of a vanished name (renamed) reuse that entry; only
   * other bytes are parsed. Null when the file disappeared since the listing.
   */
  private async read(
    reads: ReadAhead,
    stat: FileStat,
    password: string,
    cached: CachedFile | undefined,
    unclaimed: CachedFile[],
    renamed: { from: string; to: string }[],
  ): Promise<{ cached: CachedFile; parsed: boolean } | null> {
    if (stat.size > MAX_PFX_BYTES) {
      // Listed, never read: a huge file dropped on the share costs no memory (no hash: looked at
      // again at every scan, from the listing alone).
      const entry = describeOversizeFile(stat);
      return {
        cached: { name: stat.name, size: stat.size, mtimeMs: stat.mtimeMs, sha256: '', entry },
        parsed: false,
      };
    }
    let bytes: Buffer;
    try {
      bytes = await reads.take(stat.name);
    } catch (error) {
      if (isMissing(error)) return null;
      const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'error';
      const size = Math.max(0, stat.size);
      const mtimeMs = stat.mtimeMs >= 0 ? stat.mtimeMs : this.deps.now().getTime();
      const entry: InventoryFile = {
        name: stat.name,
        size,
        modified: new Date(mtimeMs).toISOString(),
        certificate: null,
        pfx: null,
        error: { code: 'unreadable', detail: `The agent's own identity cannot read the file (${code})` },
      };
      return { cached: { name: stat.name, size, mtimeMs, sha256: '', entry }, parsed: false };
    }
    const hash = sha256(bytes);
    // Without a listing time (a backend without statPfx), keep the time of the bytes we know.
    let same: CachedFile | undefined = cached?.sha256 === hash ? cached : undefined;
    if (!same && !cached) {
      const index = unclaimed.findIndex((g) => g.sha256 === hash);
      const [from] = index >= 0 ? unclaimed.splice(index, 1) : [];
      if (from) {
        renamed.push({ from: from.name, to: stat.name });
        same = from;
      }
    }
    const size = stat.size >= 0 ? stat.size : bytes.length;
    const mtimeMs = stat.mtimeMs >= 0 ? stat.mtimeMs : (same?.mtimeMs ?? this.deps.now().getTime());
    const modified = new Date(mtimeMs).toISOString();
    const entry = same
      ? { ...same.entry, name: stat.name, size, modified }
      : this.describe({ name: stat.name, size, mtimeMs }, bytes, password);
    return { cached: { name: stat.name, size, mtimeMs, sha256: hash, entry }, parsed: !same };
  }

  /** `statPfx` when the backend has it; otherwise a listing whose every file counts as changed. */
  private async list(path: string): Promise<FileStat[]> {
    const { backend } = this.deps;
    if (backend.statPfx) return backend.statPfx(path);
    const names = await backend.listPfx(path);
    // No size or time: a sentinel that never matches the cache, so every file is read (and a
    // file whose bytes did not change is still recognised by its hash and not parsed again).
    return names.map((name) => ({ name, size: -1, mtimeMs: -1 }));
  }

  private async send(reports: InventoryReport[]): Promise<void> {
    for (const report of reports) {
      // Checked before sending: a bug here fails on the host, not in the API's reports queue.
      await this.deps.reports.send(ReportSchema.parse(report));
    }
  }
}

function empty(command: ScanCommand): ScanOutcome {
  return {
    scanSeq: command.scanSeq,
    full: command.full,
    files: 0,
    parsed: 0,
    reused: 0,
    upserts: 0,
    removed: 0,
    renamed: 0,
    chunks: 1,
    error: null,
  };
}
