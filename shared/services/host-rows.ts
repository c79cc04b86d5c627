/**
 * Host rows written from reports, batched (issue 18). The reports of one ccs-id folded at the
 * same time (the queue trigger runs a batch concurrently) become one entity-group transaction on
 * the ccs-id's partition (shared/group-commit.ts), and no row is read before its write when this
 * process knows it: the rows it last read or wrote are kept with their ETags, and every write
 * is conditional on that ETag. A write that loses (another instance wrote the row) fails the
 * transaction as a whole; the rows are read again and the changes applied to what is stored —
 * a lost race costs a retry, never an update, and a change computed from the stored row (e.g.
 * `appliedGeneration = max(stored, reported)`) can never lower what another writer stored.
 *
 * A report that changes nothing but `lastSeen` (a hello, a passed preflight) writes nothing
 * while the stored `lastSeen` is younger than LAST_SEEN_REFRESH_MS: the hosts view's "last
 * seen" is then up to that much older than the host's last report (docs/performance.md,
 * "Batched folding"). Nothing decides on `lastSeen` but that view and the inventory scanner's
 * choice among equally good hosts; silence is judged from operations' host rows.
 */
import { isDeepStrictEqual } from 'node:util';
import { ConcurrencyError } from '../errors.js';
import { GroupCommit } from '../group-commit.js';
import type { HostRecord } from '../model.js';
import { MAX_TRANSACTION_WRITES, type Clock, type HostRepository, type Versioned } from '../ports.js';
import { BoundedMap } from '../bounded-map.js';

/** A stored `lastSeen` younger than this is not rewritten by a report that changes nothing else. */
export const LAST_SEEN_REFRESH_MS = 9 * 60_000;
/** Rows remembered at most (the oldest is forgotten first): about 1 KB each. */
const MAX_KNOWN = 20_000;
const MAX_ATTEMPTS = 6;

/** What a report makes of its host's row: from the row as stored (null: none yet), the row to store. */
export type HostChange = (stored: HostRecord | null) => HostRecord;

/** The row before this report's change (null: the report enrolled the host) and after it. */
export interface FoldedHost {
  before: HostRecord | null;
  after: HostRecord;
}

interface Pending {
  host: string;
  change: HostChange;
}

const comparable = (r: HostRecord): unknown => JSON.parse(JSON.stringify({ ...r, lastSeen: '' }));

export class HostRows {
  private readonly known = new BoundedMap<string, Versioned<HostRecord>>(MAX_KNOWN);
  private readonly commits: GroupCommit<Pending, FoldedHost>;

  constructor(
    private readonly hosts: Pick<HostRepository, 'read' | 'writeAll'>,
    private readonly clock: Clock,
  ) {
    this.commits = new GroupCommit((ccsId, items) => this.flush(ccsId, items), MAX_TRANSACTION_WRITES);
  }

  /** Apply `change` to the host's row, with the other reports of its ccs-id folded meanwhile. */
  fold(ccsId: string, host: string, change: HostChange): Promise<FoldedHost> {
    return this.commits.add(ccsId, { host, change });
  }

  private async flush(ccsId: string, items: Pending[]): Promise<FoldedHost[]> {
    // Each host once per transaction: several reports of one host apply in order to one write.
    const byHost = new Map<string, number[]>();
    items.forEach((item, i) => {
      const name = item.host.toLowerCase();
      byHost.set(name, [...(byHost.get(name) ?? []), i]);
    });
    const hosts = [...byHost.keys()];
    const readNow = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const stored = await Promise.all(hosts.map((h) => this.base(ccsId, h, readNow)));
      const results: FoldedHost[] = [];
      const writes: { record: HostRecord; etag: string | null }[] = [];
      const written: string[] = [];
      hosts.forEach((h, at) => {
        const base = stored[at] ?? null;
        let row = base?.record ?? null;
        for (const i of byHost.get(h)!) {
          const after = items[i]!.change(row);
          results[i] = { before: row, after };
          row = after;
        }
        if (row && this.needsWrite(base?.record ?? null, row)) {
          writes.push({ record: row, etag: base?.etag ?? null });
          written.push(h);
        }
      });
      if (writes.length === 0) return results;
      const outcome = await this.hosts.writeAll(ccsId, writes);
      if ('etags' in outcome) {
        written.forEach((h, i) =>
          this.remember(ccsId, h, { record: writes[i]!.record, etag: outcome.etags[i]! }),
        );
        return results;
      }
      if (attempt >= MAX_ATTEMPTS) throw new ConcurrencyError();
      // Another writer got there first: what this process knew of these rows may all be old
      // (another instance folded their hosts' reports). Read them again, the lost one included.
      for (const h of hosts) if (!readNow.has(h)) this.known.delete(`${ccsId}/${h}`);
      readNow.delete(written[outcome.lost]!);
      this.known.delete(`${ccsId}/${written[outcome.lost]!}`);
    }
  }

  /** The row as this process last knew it, or as read now. */
  private async base(
    ccsId: string,
    host: string,
    readNow: Set<string>,
  ): Promise<Versioned<HostRecord> | null> {
    const known = this.known.get(`${ccsId}/${host}`);
    if (known) return known;
    const read = await this.hosts.read(ccsId, host);
    readNow.add(host);
    if (read) this.remember(ccsId, host, read);
    return read;
  }

  private needsWrite(stored: HostRecord | null, next: HostRecord): boolean {
    if (!stored) return true;
    if (!isDeepStrictEqual(comparable(stored), comparable(next))) return true;
    return !(this.clock.now().getTime() - Date.parse(stored.lastSeen) < LAST_SEEN_REFRESH_MS);
  }

  private remember(ccsId: string, host: string, row: Versioned<HostRecord>): void {
    this.known.set(`${ccsId}/${host}`, row);
  }
}
