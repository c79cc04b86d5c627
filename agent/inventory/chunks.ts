/**
 * Splits a scan's result into inventory reports that each fit a queue message: Storage Queues
 * take 64 KiB per message and reports travel base64-encoded (4/3 larger), so the JSON of one
 * report must stay under 48 KiB. A scan always yields at least one report (with nothing changed
 * it is the scanner's heartbeat, which keeps its lease).
 */
import type { InventoryFile } from '../../shared/certificates/metadata.js';
import type { InventoryReport } from '../../shared/messages.js';

/** JSON bytes per report: 48 KiB minus headroom for the header fields. */
export const CHUNK_BYTES = 45_000;

export type ReportBase = Omit<InventoryReport, 'chunk' | 'upserts' | 'removed' | 'renamed'>;

interface Parts {
  upserts: InventoryFile[];
  removed: string[];
  renamed: { from: string; to: string }[];
}

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8') + 1;

export function chunkReports(base: ReportBase, parts: Parts, budget = CHUNK_BYTES): InventoryReport[] {
  const overhead = bytes({
    ...base,
    chunk: { index: 99_999, count: 99_999 },
    upserts: [],
    removed: [],
    renamed: [],
  });
  const room = budget - overhead;
  const chunks: Parts[] = [];
  let current: Parts = { upserts: [], removed: [], renamed: [] };
  let used = 0;
  const add = <K extends keyof Parts>(kind: K, item: Parts[K][number]): void => {
    const size = bytes(item);
    if (used + size > room && used > 0) {
      chunks.push(current);
      current = { upserts: [], removed: [], renamed: [] };
      used = 0;
    }
    (current[kind] as Parts[K][number][]).push(item);
    used += size;
  };
  for (const item of parts.upserts) add('upserts', item);
  for (const item of parts.removed) add('removed', item);
  for (const item of parts.renamed) add('renamed', item);
  chunks.push(current);
  return chunks.map((part, index) => ({ ...base, chunk: { index, count: chunks.length }, ...part }));
}
