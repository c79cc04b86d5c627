/**
 * How the publisher changes the share so that IIS never reads half a file and nothing is lost:
 *
 * 1. every new file is written to a temporary name and flushed (share.ts `create`); a failure
 *    here (share read-only, full) removes this run's temporary files and changes nothing else;
 * 2. the ownership record notes each target's new hash as `pending` (manifest.ts, write-ahead);
 * 3. each temporary file is renamed over its target — one step, old bytes or new;
 * 4. files no source wants any more are removed (only the publisher's own, unchanged ones);
 * 5. the record is rewritten with the pending entries promoted and the removed ones dropped.
 *
 * A run that dies anywhere leaves the share readable: old files, new files, or a mix of whole
 * files, and a record under which every one of them still counts as the publisher's own, so the
 * next run (on any host) completes it. Its temporary files are removed by a later run once older
 * than the orphan interval (temp-files.ts).
 */
import {
  ManifestError,
  fileKey,
  saveManifest,
  sha256Hex,
  type LoadedManifest,
  type Manifest,
  type WrittenFile,
} from './manifest.js';
import { ShareError, type PublishShare } from './share.js';
import { newTempName } from './temp-files.js';

/** One file to put in place. */
export interface FileWrite {
  file: string;
  bytes: Buffer;
  record: Omit<WrittenFile, 'sha256' | 'size' | 'written'>;
}

export type PublishErrorCode =
  | 'share_read_only'
  | 'share_full'
  | 'share_unavailable'
  | 'share_error'
  | 'concurrent_publisher'
  | 'record_unreadable'
  | 'foreign_files'
  | 'unreadable_files'
  | 'stale_run';

/** A run that could not complete; what was already in place stays readable and recorded. */
export class PublishError extends Error {
  constructor(
    readonly code: PublishErrorCode,
    message: string,
    /** Files concerned (e.g. the foreign files that block a re-encryption). */
    readonly files: string[] = [],
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

/** A failure of a run as the PublishError a caller reports; anything unexpected passes through. */
export function asPublishError(error: unknown): unknown {
  if (error instanceof ShareError) return publishErrorOf(error);
  if (error instanceof ManifestError) {
    return new PublishError(
      /another publisher/.test(error.message) ? 'concurrent_publisher' : 'record_unreadable',
      error.message,
    );
  }
  return error;
}

function publishErrorOf(error: ShareError): PublishError {
  const code =
    error.kind === 'read-only'
      ? 'share_read_only'
      : error.kind === 'full'
        ? 'share_full'
        : error.kind === 'unavailable'
          ? 'share_unavailable'
          : 'share_error';
  const what: Record<string, string> = {
    share_read_only: 'the share is read-only or this host may not write it',
    share_full: 'the share is full',
    share_unavailable: 'the share cannot be reached',
    share_error: 'the share refused an operation',
  };
  return new PublishError(
    code,
    `Publishing stopped: ${what[code] ?? code} (${error.operation} of ${error.file}${error.osCode ? `, ${error.osCode}` : ''}). Files already in place are whole and still recorded; the next run continues.`,
  );
}

export interface CommitInput {
  share: PublishShare;
  loaded: LoadedManifest;
  writes: readonly FileWrite[];
  /** Share file names to remove from the share (and, by their {@link fileKey}, from the record). */
  removals: readonly string[];
  /** {@link fileKey}s to drop from the record only. */
  forget: readonly string[];
  now: Date;
  /** The publish run (its number and `issuedAt`): recorded as the fence against older runs. */
  run?: Manifest['lastRun'];
  /** Told after each temporary file is written (the agent's crash point for fault tests). */
  afterTempWritten?: () => void;
}

/** Runs steps 1–5; returns the new record and the temporary names this run created. */
export async function commitChanges(
  input: CommitInput,
): Promise<{ loaded: LoadedManifest; temps: Set<string> }> {
  const { share, now } = input;
  const temps = new Set<string>();
  const tempName = () => {
    const name = newTempName(now);
    temps.add(name);
    return name;
  };
  const staged: { file: string; temp: string; record: WrittenFile }[] = [];
  try {
    for (const w of input.writes) {
      const temp = tempName();
      await share.create(temp, w.bytes);
      const record = {
        ...w.record,
        sha256: sha256Hex(w.bytes),
        size: w.bytes.length,
        written: now.toISOString(),
      };
      staged.push({ file: w.file, temp, record });
      input.afterTempWritten?.();
    }
  } catch (error) {
    await Promise.all([...temps].map((t) => share.remove(t).catch(() => undefined)));
    throw asPublishError(error);
  }

  let loaded = input.loaded;
  const files: Manifest['files'] = { ...loaded.manifest.files };
  const lastRun = input.run ?? loaded.manifest.lastRun;
  const record = (entries: Manifest['files']): Manifest => ({
    format: 1,
    files: entries,
    ...(lastRun ? { lastRun } : {}),
  });
  try {
    if (staged.length > 0) {
      for (const s of staged) {
        const key = fileKey(s.file);
        files[key] = { ...(files[key] ?? s.record), pending: s.record };
      }
      loaded = await saveManifest(share, record({ ...files }), loaded, tempName);
    }
    for (const s of staged) {
      await share.replace(s.temp, s.file);
      temps.delete(s.temp);
    }
    for (const name of input.removals) await share.remove(name);
    for (const s of staged) files[fileKey(s.file)] = s.record;
    for (const key of [...input.removals.map(fileKey), ...input.forget]) delete files[key];
    loaded = await saveManifest(share, record(files), loaded, tempName);
  } catch (error) {
    // Renamed files are whole and recorded as pending; the rest of this run's temps go.
    await Promise.all([...temps].map((t) => share.remove(t).catch(() => undefined)));
    throw asPublishError(error);
  }
  return { loaded, temps };
}
