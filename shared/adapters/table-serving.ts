/**
 * Serving checks in Table storage (`ccsserving`), one partition per ccs-id. Each check is written
 * twice — by generation (`g|<generation>|<host>`, for an operation's hosts) and by host
 * (`h|<host>|<generation>`, a host's history) — with generations counting down in keys, so a
 * plain query lists the newest first. `l|<host>` holds each host's newest check and the list of
 * generations the host's history holds (`history`, newest first, at most SERVING_HISTORY).
 *
 * Batched (issue 18): the checks of one ccs-id put at the same time (the queue trigger folds a
 * batch of reports concurrently) go to its partition as one entity-group transaction
 * (shared/group-commit.ts), each check with its `l|<host>` row, conditional on that row's ETag,
 * and the deletes of the generations that fell out of the host's history. The `l` rows are kept
 * per process with their ETags (as shared/services/host-rows.ts keeps host rows), so a put reads
 * nothing this process wrote last: the `l` row's condition is what makes a stale copy safe — a
 * write that lost (another instance wrote the row) fails the whole transaction at its index, and
 * that host's row is read again (its history from its rows when a row the list named was gone).
 * Pruning needs no query: the history list says which rows fall out, and it changes in the same
 * transaction as the rows it lists.
 */
import { odata, type TransactionAction } from '@azure/data-tables';
import { SERVING_HISTORY, type ServingRecord } from '../bindings/model.js';
import type { ServingCheck } from '../messages.js';
import { ConcurrencyError } from '../errors.js';
import { GroupCommit } from '../group-commit.js';
import { eachLimited } from '../each-limited.js';
import { MAX_TRANSACTION_WRITES, type ServingRepository } from '../ports.js';
import {
  all,
  deleteIfExists,
  getOrNull,
  json,
  parse,
  textOrNull,
  transact,
  type Entity,
  type LazyTable,
  type Row,
} from './table-support.js';
import { readTextColumns, textColumns } from './table-text.js';
import { BoundedMap } from '../bounded-map.js';

const MAX_GENERATION = 999_999_999_999;
const countdown = (generation: number): string => String(MAX_GENERATION - generation).padStart(12, '0');
const host = (name: string) => name.toLowerCase();
const range = (ccsId: string, from: string, prefix: string): string =>
  odata`PartitionKey eq ${ccsId} and RowKey ge ${from} and RowKey lt ${`${prefix}~`}`;
const byGenerationKey = (generation: number, name: string) => `g|${countdown(generation)}|${host(name)}`;
const byHostKey = (name: string, generation: number) => `h|${host(name)}|${countdown(generation)}`;

/**
 * Checks per transaction: each costs at most five actions (its two rows, its host's `l` row,
 * and the two rows of the generation it pushes out of the history), so 20 stay within the 100
 * a transaction takes; at 40,000 result characters a check (bindings-folder.ts), three copies
 * each, 20 checks are about 2.5 MB, within a transaction's 4 MiB.
 */
const CHECKS_PER_TRANSACTION = Math.floor(MAX_TRANSACTION_WRITES / 5);
/** `l` rows remembered at most (the oldest is forgotten first): a few hundred bytes each. */
const MAX_KNOWN = 20_000;
const MAX_ATTEMPTS = 6;

/** What a put needs of a host's `l` row: null etag when it has none yet. */
interface LatestState {
  etag: string | null;
  generation: number;
  at: string;
  /** The generations of the host's history rows, newest first. */
  history: number[];
}

const NO_LATEST: LatestState = { etag: null, generation: -1, at: '', history: [] };

/** The `l` row's ordering rule: the newest generation, and of one generation the latest check. */
const supersedes = (record: ServingRecord, latest: { generation: number; at: string }): boolean =>
  record.generation > latest.generation ||
  (record.generation === latest.generation && record.at >= latest.at);

function columns(record: ServingRecord): Row {
  return {
    host: record.host,
    generation: record.generation,
    operationId: record.operationId ?? '',
    at: record.at,
    counts: json(record.counts),
    omitted: record.omitted,
    ...textColumns('results', record.results),
  };
}

function toRecord(ccsId: string, row: Row): ServingRecord {
  return {
    ccsId,
    host: String(row.host),
    generation: Number(row.generation),
    operationId: textOrNull(row.operationId),
    at: String(row.at),
    counts: parse<ServingCheck['counts']>(row.counts),
    results: readTextColumns<ServingCheck['results']>(row, 'results'),
    omitted: Number(row.omitted),
  };
}

/** One host's share of a transaction, and the `l` row it leaves when it succeeds. */
interface HostWrite {
  host: string;
  actions: TransactionAction[];
  /** Index of the `l` row's action in `actions`. */
  latestAt: number;
  after: Omit<LatestState, 'etag'>;
}

export class TableServingRepository implements ServingRepository {
  private readonly known = new BoundedMap<string, LatestState>(MAX_KNOWN);
  private readonly commits: GroupCommit<ServingRecord, void>;
  /** Hosts whose history list named a row that is gone: their history is read from the rows. */
  private readonly unlisted = new Set<string>();

  /** `TABLE_NAMES.serving` (shared/adapters/table-stores.ts wires it). */
  constructor(private readonly table: LazyTable) {
    this.commits = new GroupCommit((ccsId, records) => this.flush(ccsId, records), CHECKS_PER_TRANSACTION);
  }

  put(record: ServingRecord): Promise<void> {
    return this.commits.add(record.ccsId, record);
  }

  private async flush(ccsId: string, records: ServingRecord[]): Promise<void[]> {
    const byHost = new Map<string, ServingRecord[]>();
    for (const r of records) byHost.set(host(r.host), [...(byHost.get(host(r.host)) ?? []), r]);
    let waiting = [...byHost.keys()];
    for (let attempt = 1; waiting.length > 0; attempt++) {
      if (attempt > MAX_ATTEMPTS) throw new ConcurrencyError();
      await this.load(ccsId, waiting);
      const writes = waiting
        .map((h) => this.planHost(ccsId, h, this.known.get(`${ccsId}/${h}`)!, byHost.get(h)!))
        .filter((w): w is HostWrite => w !== null);
      waiting = [];
      for (const group of packed(writes)) waiting.push(...(await this.submit(ccsId, group)));
    }
    return records.map(() => undefined);
  }

  /**
   * One host's rows for `records` (in arrival order) on top of `state`: each check's two rows, the
   * `l` row (replaced by the newest check, else only its history list merged), and the deletes of
   * the generations that fell out of the history. Null when nothing changes (a check older than
   * a full history, as the history would drop at once).
   */
  private planHost(
    ccsId: string,
    name: string,
    state: LatestState,
    records: ServingRecord[],
  ): HostWrite | null {
    let newest: ServingRecord | null = null;
    const checks = new Map<number, ServingRecord>();
    for (const r of records) {
      if (supersedes(r, newest ?? state)) newest = r;
      checks.set(r.generation, r);
    }
    const generations = [...new Set([...state.history, ...checks.keys()])].sort((a, b) => b - a);
    const kept = generations.slice(0, SERVING_HISTORY);
    const written = [...checks.values()].filter((r) => kept.includes(r.generation));
    const dropped = state.history.filter((g) => !kept.includes(g));
    if (written.length === 0 && !newest) return null;
    const actions: TransactionAction[] = [];
    for (const r of written) {
      const body = columns(r);
      actions.push([
        'upsert',
        { partitionKey: ccsId, rowKey: byGenerationKey(r.generation, r.host), ...body },
        'Replace',
      ]);
      actions.push([
        'upsert',
        { partitionKey: ccsId, rowKey: byHostKey(r.host, r.generation), ...body },
        'Replace',
      ]);
    }
    for (const g of dropped) {
      actions.push(['delete', { partitionKey: ccsId, rowKey: byGenerationKey(g, name) }]);
      actions.push(['delete', { partitionKey: ccsId, rowKey: byHostKey(name, g) }]);
    }
    const latest: Entity = newest
      ? { partitionKey: ccsId, rowKey: `l|${name}`, ...columns(newest), history: json(kept) }
      : { partitionKey: ccsId, rowKey: `l|${name}`, history: json(kept) };
    // The `l` row is in every write of its host: its ETag guards the history list as well.
    const latestAt = actions.length;
    if (state.etag === null) actions.push(['create', latest]);
    else actions.push(['update', latest, newest ? 'Replace' : 'Merge', { etag: state.etag }]);
    const top = newest ?? state;
    return {
      host: name,
      actions,
      latestAt,
      after: { generation: top.generation, at: top.at, history: kept },
    };
  }

  /** Submit one transaction; the hosts to try again (the one whose row lost, and the rest of its group). */
  private async submit(ccsId: string, group: HostWrite[]): Promise<string[]> {
    const table = await this.table.ready();
    const outcome = await transact(
      table,
      group.flatMap((w) => w.actions),
    );
    if ('etags' in outcome) {
      let offset = 0;
      for (const w of group) {
        this.remember(`${ccsId}/${w.host}`, { ...w.after, etag: outcome.etags[offset + w.latestAt]! });
        offset += w.actions.length;
      }
      return [];
    }
    // Nothing was written. The host whose action failed (its `l` row changed, or a row its
    // history listed is gone) is read again; the others' rows are as they were.
    let offset = 0;
    for (const w of group) {
      if (outcome.index < offset + w.actions.length) {
        this.known.delete(`${ccsId}/${w.host}`);
        // Not its `l` row: a row the list names is gone, so the list is read from the rows.
        if (outcome.index !== offset + w.latestAt) this.unlisted.add(`${ccsId}/${w.host}`);
        break;
      }
      offset += w.actions.length;
    }
    return group.map((w) => w.host);
  }

  /** Read the `l` rows this process does not know (one query for several), and any history they lack. */
  private async load(ccsId: string, names: string[]): Promise<void> {
    const unknown = names.filter((n) => !this.known.has(`${ccsId}/${n}`));
    if (unknown.length === 0) return;
    const table = await this.table.ready();
    const select = ['RowKey', 'generation', 'at', 'history'];
    const rows = new Map<string, Row & { etag: string }>();
    if (unknown.length === 1) {
      const row = await getOrNull(table, ccsId, `l|${unknown[0]!}`);
      if (row) rows.set(unknown[0]!, { ...row, etag: row.etag });
    } else {
      const filter = range(ccsId, 'l|', 'l|');
      for await (const row of table.listEntities<Row>({ queryOptions: { filter, select } }))
        rows.set(String(row.rowKey).slice(2), { ...row, etag: row.etag });
    }
    for (const name of unknown) {
      const key = `${ccsId}/${name}`;
      const suspect = this.unlisted.delete(key);
      const row = rows.get(name);
      if (!row) {
        const history = suspect ? await this.repairHistory(ccsId, name) : [];
        this.remember(key, { ...NO_LATEST, history });
        continue;
      }
      const listed = typeof row.history === 'string' && !suspect;
      this.remember(key, {
        etag: row.etag,
        generation: Number(row.generation),
        at: String(row.at),
        history: listed ? parse<number[]>(row.history) : await this.repairHistory(ccsId, name),
      });
    }
  }

  /**
   * A host's history from its rows, for an `l` row written before the list existed, or whose list
   * named a row that is gone (an older version pruned a generation's two rows one at a time). What
   * lies beyond SERVING_HISTORY is pruned here the old way, one delete at a time, missing rows
   * allowed; the list of the rest goes into the host's next transaction.
   */
  private async repairHistory(ccsId: string, name: string): Promise<number[]> {
    const table = await this.table.ready();
    const prefix = `h|${name}|`;
    const filter = range(ccsId, prefix, prefix);
    const stored = await all(
      table.listEntities<Row>({ queryOptions: { filter, select: ['generation'] } }),
      (r) => Number(r.generation),
    );
    const history = [...new Set(stored)].sort((a, b) => b - a);
    await eachLimited(history.slice(SERVING_HISTORY), 8, async (g) => {
      await deleteIfExists(table, ccsId, byGenerationKey(g, name));
      await deleteIfExists(table, ccsId, byHostKey(name, g));
    });
    return history.slice(0, SERVING_HISTORY);
  }

  private remember(key: string, state: LatestState): void {
    this.known.set(key, state);
  }

  async latest(ccsId: string, name: string, generation?: number): Promise<ServingRecord | null> {
    const table = await this.table.ready();
    if (generation === undefined) {
      const row = await getOrNull(table, ccsId, `l|${host(name)}`);
      return row ? toRecord(ccsId, row) : null;
    }
    const prefix = `h|${host(name)}|`;
    const filter = range(ccsId, `${prefix}${countdown(Math.max(0, generation))}`, prefix);
    for await (const page of table
      .listEntities<Row>({ queryOptions: { filter } })
      .byPage({ maxPageSize: 1 })) {
      const [row] = page;
      if (row) return toRecord(ccsId, row);
    }
    return null;
  }

  async latestOfEach(ccsId: string): Promise<ServingRecord[]> {
    const table = await this.table.ready();
    return all(table.listEntities<Row>({ queryOptions: { filter: range(ccsId, 'l|', 'l|') } }), (row) =>
      toRecord(ccsId, row),
    );
  }

  async atGeneration(ccsId: string, generation: number): Promise<ServingRecord[]> {
    const table = await this.table.ready();
    const prefix = `g|${countdown(generation)}|`;
    return all(table.listEntities<Row>({ queryOptions: { filter: range(ccsId, prefix, prefix) } }), (row) =>
      toRecord(ccsId, row),
    );
  }
}

/** Host writes grouped into transactions of at most MAX_TRANSACTION_WRITES actions, in order. */
function packed(writes: HostWrite[]): HostWrite[][] {
  const groups: HostWrite[][] = [];
  let size = MAX_TRANSACTION_WRITES;
  for (const w of writes) {
    if (size + w.actions.length > MAX_TRANSACTION_WRITES) {
      groups.push([]);
      size = 0;
    }
    groups.at(-1)!.push(w);
    size += w.actions.length;
  }
  return groups;
}
