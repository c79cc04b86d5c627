/**
 * The publisher's temporary files: `.ccs-publish-<epoch ms>-<random>.tmp`. The name does not end
 * in `.pfx`, so neither IIS nor the inventory ever takes one for a certificate; it carries its
 * creation time, so any later publisher (on any host) can tell an orphan of a dead run from the
 * file a live run is writing right now.
 */
import { randomSuffix } from './manifest.js';
import type { PublishShare, ShareEntry } from './share.js';

const TEMP = /^\.ccs-publish-(\d{13})-[0-9a-f]{12}\.tmp$/;

/** Orphans younger than this are left alone (a live publisher may still be writing them). */
export const DEFAULT_TEMP_MAX_AGE_MS = 10 * 60 * 1000;

export const newTempName = (now: Date): string => `.ccs-publish-${now.getTime()}-${randomSuffix()}.tmp`;

export const isPublisherTemp = (name: string): boolean => TEMP.test(name);

/**
 * Removes publisher temporary files older than `maxAgeMs`. Age is the later of the time in the
 * name (the writer's clock) and the file's last write (the file server's clock), so a skewed
 * clock on either side never removes a file that is still being written. Returns the names
 * removed; a file that cannot be removed is left for the next run.
 */
/** When the first of the temporary files left in `listing` (minus `gone`) may be removed; null: none. */
export function orphansDueAt(
  listing: readonly ShareEntry[],
  maxAgeMs: number,
  gone: ReadonlySet<string>,
): Date | null {
  let due: number | null = null;
  for (const entry of listing) {
    const match = TEMP.exec(entry.name);
    if (!match?.[1] || gone.has(entry.name)) continue;
    const at = Math.max(Number(match[1]), entry.mtimeMs) + maxAgeMs;
    due = due === null ? at : Math.min(due, at);
  }
  return due === null ? null : new Date(due);
}

export async function removeOrphanTemps(
  share: PublishShare,
  listing: readonly ShareEntry[],
  now: Date,
  maxAgeMs: number,
  keep: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of listing) {
    const match = TEMP.exec(entry.name);
    if (!match?.[1] || keep.has(entry.name)) continue;
    const youngest = Math.max(Number(match[1]), entry.mtimeMs);
    if (now.getTime() - youngest < maxAgeMs) continue;
    try {
      await share.remove(entry.name);
      removed.push(entry.name);
    } catch {
      // Left for the next run; an orphan is untidy, never harmful.
    }
  }
  return removed;
}
