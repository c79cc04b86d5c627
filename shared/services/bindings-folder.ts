/**
 * Folds what agents report about their CCS bindings (docs/agent.md, "Bindings"):
 *
 * - a `hello` or `result` carries the list inline (`items`) when it is short: stored at once;
 * - a long list travels in `bindings` reports, chunks of one `digest`, in any order and possibly
 *   more than once: each chunk is stored as a part, and when every part of the digest is there
 *   the list is assembled, its digest recomputed (a list whose chunks do not add up is refused)
 *   and it becomes the host's list;
 * - the newest list wins, by the `at` the agent read it: a late report of an older list changes
 *   nothing;
 * - a read error (`error`) keeps the last known list and records the error, until a newer list.
 *
 * Serving checks (`result.serving`) are stored per host and generation, with their operation.
 * Sizes are bounded whatever a report claims: chunk counts, part sizes, listed results.
 */
import { bindingsDigest } from '../bindings/digest.js';
import { emptyBindingsHead, type BindingsHead } from '../bindings/model.js';
import { ConcurrencyError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  MAX_REPORTED_BINDINGS,
  type BindingsReport,
  type BindingsSummary,
  type CcsBinding,
  type HostError,
  type ResultReport,
  type ServingCheck,
} from '../messages.js';
import type { Stores, Versioned } from '../ports.js';
import { BoundedMap } from '../bounded-map.js';

/** Chunks one list may have: 20,000 bindings in chunks of at most 40 KB need far fewer. */
const MAX_CHUNKS = 1_000;
/** Characters of JSON one stored part may hold (the agent sends at most 40,000 bytes). */
const MAX_PART_CHARACTERS = 200_000;
/** Characters of JSON a stored serving check's results may hold (the agent sends at most 18,000 bytes). */
const MAX_RESULT_CHARACTERS = 40_000;

const json = (value: unknown): number => JSON.stringify(value).length;

/**
 * A host's unchanged list is written again (its `at` moved on) once this long after the stored
 * `at`: until then a late report of an older list read in between could win for a while (until
 * the host's next report) — the price of not writing the head on every report.
 */
export const BINDINGS_REFRESH_MS = 9 * 60_000;
const MAX_KNOWN_LISTS = 20_000;

/**
 * A host's list as this process last stored it (or found it stored), and — when this process
 * wrote it — the head as written with its ETag, so the refresh after BINDINGS_REFRESH_MS is a
 * conditional write without a read first (issue 18: an unchanged hello's cost). A head another
 * instance wrote meanwhile fails the condition and is read again.
 */
interface KnownList {
  digest: string;
  at: string;
  head?: Versioned<BindingsHead>;
}

/** `digest` read at `at` is the list `known` names, read less than BINDINGS_REFRESH_MS after it. */
function sameListRecently(
  known: { digest: string; at: string } | undefined,
  digest: string,
  at: string,
): boolean {
  if (!known || known.digest !== digest) return false;
  const since = Date.parse(at) - Date.parse(known.at);
  return since >= 0 && since < BINDINGS_REFRESH_MS;
}

function invalid(code: string, detail: string): HostError {
  return { name: 'bindings', code, detail, status: 400 };
}

/** The results of a check cut to MAX_RESULT_CHARACTERS (worst first, as the agent ordered them). */
export function boundedServing(check: ServingCheck): ServingCheck {
  const results: ServingCheck['results'] = [];
  let used = 2;
  for (const result of check.results) {
    const size = json(result) + 1;
    if (used + size > MAX_RESULT_CHARACTERS) break;
    results.push(result);
    used += size;
  }
  return { ...check, results, omitted: check.omitted + check.results.length - results.length };
}

export class BindingsFolder {
  /**
   * The list this process last stored (or found stored, error-free) per host, and the time it was
   * read (issue 18): the same list again within BINDINGS_REFRESH_MS of that time is neither read
   * nor written — every hello and result carries the list, and it rarely changes.
   */
  private readonly known = new BoundedMap<string, KnownList>(MAX_KNOWN_LISTS);

  constructor(
    private readonly stores: Pick<Stores, 'bindings' | 'serving'>,
    private readonly log: Logger,
  ) {}

  /** What a `result` carries: the bindings, and after an apply that succeeded the serving check. */
  async result(report: ResultReport): Promise<void> {
    if (report.bindings) await this.summary(report.ccsId, report.host, report.bindings, report.at);
    if (!report.serving) return;
    await this.stores.serving.put({
      ccsId: report.ccsId,
      host: report.host,
      generation: report.generation,
      operationId: report.operationId,
      ...boundedServing(report.serving),
    });
  }

  /** The bindings of a `hello` or `result`: a list inline, a digest whose chunks come apart, or an error. */
  async summary(ccsId: string, host: string, summary: BindingsSummary, at: string): Promise<void> {
    if (summary.error) return this.recordError(ccsId, host, summary.error, at);
    if (summary.items === undefined || summary.digest === null) return; // the chunks carry the list
    const list = summary.items;
    if (json(list) > MAX_PART_CHARACTERS) {
      return this.recordError(
        ccsId,
        host,
        invalid('BindingsTooLarge', 'The inline binding list is too large'),
        at,
      );
    }
    if (bindingsDigest(list) !== summary.digest) {
      return this.recordError(ccsId, host, mismatch(summary.digest), at);
    }
    const key = `${ccsId}/${host.toLowerCase()}`;
    const known = this.known.get(key);
    if (sameListRecently(known, summary.digest, at)) return;
    const written = known?.digest === summary.digest ? known.head : undefined;
    if (written && written.record.set !== null && written.record.error === null) {
      const { set } = written.record;
      return this.commit(ccsId, host, { digest: summary.digest, total: summary.total, set }, at, written);
    }
    const current = await this.stores.bindings.head(ccsId, host);
    if (current?.record.digest === summary.digest && current.record.set !== null) {
      // The same list again (every hello): only its time moves on, and only once in a while.
      const { set, at: storedAt, error } = current.record;
      if (
        error === null &&
        storedAt !== null &&
        sameListRecently({ digest: summary.digest, at: storedAt }, summary.digest, at)
      ) {
        this.remember(ccsId, host, { digest: summary.digest, at: storedAt, head: current });
        return;
      }
      return this.commit(ccsId, host, { digest: summary.digest, total: summary.total, set }, at, current);
    }
    const set = `i.${summary.digest}`;
    await this.stores.bindings.putPart({ ccsId, host, set, index: 0, at, bindings: list });
    await this.commit(ccsId, host, { digest: summary.digest, total: summary.total, set }, at);
  }

  /** One chunk of a long list (or a read error the drift check noticed). */
  async chunk(report: BindingsReport): Promise<void> {
    const { ccsId, host, at } = report;
    if (report.error) return this.recordError(ccsId, host, report.error, at);
    const { index, count } = report.chunk;
    if (report.digest === null || index >= count || count > MAX_CHUNKS) {
      return this.recordError(
        ccsId,
        host,
        invalid('BindingsReportInvalid', 'A bindings chunk is malformed'),
        at,
      );
    }
    if (json(report.bindings) > MAX_PART_CHARACTERS) {
      return this.recordError(ccsId, host, invalid('BindingsTooLarge', 'A bindings chunk is too large'), at);
    }
    const set = `c.${report.digest}.${count}`;
    await this.stores.bindings.putPart({ ccsId, host, set, index, at, bindings: report.bindings });
    if ((await this.stores.bindings.countParts(ccsId, host, set)) < count) return;
    const list = await this.stores.bindings.readSet(ccsId, host, set, count);
    if (list === null) return;
    if (list.length > MAX_REPORTED_BINDINGS || bindingsDigest(list) !== report.digest) {
      // Drop the parts that did not add up; the host's current list stays.
      const current = await this.stores.bindings.head(ccsId, host);
      await this.stores.bindings.dropParts(ccsId, host, current?.record.set ?? null, at);
      return this.recordError(ccsId, host, mismatch(report.digest), at);
    }
    await this.commit(ccsId, host, { digest: report.digest, total: report.total, set }, at);
  }

  /** Make `list` the host's list unless a newer one is stored; drop the parts nothing names. */
  private async commit(
    ccsId: string,
    host: string,
    list: Pick<BindingsHead, 'digest' | 'total' | 'set'>,
    at: string,
    /** The head as the caller just read it (saves a read on every hello); re-read after a lost race. */
    known?: Versioned<BindingsHead> | null,
  ): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const current =
        attempt === 0 && known !== undefined ? known : await this.stores.bindings.head(ccsId, host);
      const head = current?.record ?? emptyBindingsHead(ccsId, host);
      if (head.at !== null && head.at > at) {
        // An older list than the one stored: its parts are of no use.
        if (head.set !== list.set) await this.stores.bindings.dropParts(ccsId, host, head.set, at);
        return;
      }
      if (head.set === list.set && head.at === at) return;
      const errorCleared = head.errorAt === null || head.errorAt <= at;
      const next: BindingsHead = {
        ...head,
        host,
        ...list,
        at,
        error: errorCleared ? null : head.error,
        errorAt: errorCleared ? null : head.errorAt,
      };
      const etag = await this.stores.bindings.saveHead(next, current?.etag ?? null);
      if (etag === null) continue;
      if (next.error === null && list.digest !== null)
        this.remember(ccsId, host, { digest: list.digest, at, head: { record: next, etag } });
      if (head.set !== list.set) await this.stores.bindings.dropParts(ccsId, host, list.set, at);
      if (head.digest !== list.digest) {
        this.log.info('bindings stored', { ccsId, host, total: list.total });
      }
      return;
    }
    throw new ConcurrencyError();
  }

  /** Record a read error; the last known list stays (a list read later than the error wins). */
  private remember(ccsId: string, host: string, list: KnownList): void {
    const key = `${ccsId}/${host.toLowerCase()}`;
    this.known.set(key, list);
  }

  private async recordError(ccsId: string, host: string, error: HostError, at: string): Promise<void> {
    this.known.delete(`${ccsId}/${host.toLowerCase()}`);
    this.log.warn('bindings not readable', { ccsId, host, code: error.code });
    for (let attempt = 0; attempt < 8; attempt++) {
      const current = await this.stores.bindings.head(ccsId, host);
      const head = current?.record ?? emptyBindingsHead(ccsId, host);
      if ((head.at !== null && head.at > at) || (head.errorAt !== null && head.errorAt >= at)) return;
      const next: BindingsHead = { ...head, host, error, errorAt: at };
      if ((await this.stores.bindings.saveHead(next, current?.etag ?? null)) !== null) return;
    }
    throw new ConcurrencyError();
  }
}

function mismatch(digest: string): HostError {
  return invalid(
    'BindingsDigestMismatch',
    `The bindings received do not add up to the list the host named (digest ${digest}); the last known list is kept`,
  );
}

/** The bindings of a host (kept here so readers and folders share one reading rule). */
export async function readHostBindings(
  stores: Pick<Stores, 'bindings'>,
  head: BindingsHead,
): Promise<CcsBinding[]> {
  if (head.set === null) return [];
  const count = head.set.startsWith('c.') ? Number(head.set.split('.').pop()) : 1;
  return (await stores.bindings.readSet(head.ccsId, head.host, head.set, count)) ?? [];
}
