/**
 * Publish runs (docs/certificates.md, "Publishing"): look at Key Vault when it is due, ask the
 * elected host to write the share when the run would change something (shared/publishing/
 * schedule.ts decides), and fold its reports into the files the publisher owns.
 *
 * - Key Vault is looked at every inventory interval (the timer; the local stack's 5 s) and at once
 *   when the sources change or Event Grid says a certificate has a new version.
 * - The publisher is the inventory scanner (the lease holder): the election, its hand-over after
 *   two silent intervals and its candidates (hosts that applied the current desired state) are
 *   the inventory's.
 * - State is one row per ccs-id written with its ETag: the timer, the Event Grid trigger and the
 *   report processor may act at once and never lose each other's updates.
 */
import { ConcurrencyError } from '../errors.js';
import { eachLimited } from '../each-limited.js';
import type { Logger } from '../log.js';
import { MESSAGE_VERSION } from '../message-parts.js';
import type { CcsRecord } from '../model.js';
import { choosePfxProfile } from '../pkcs12/profiles.js';
import type { CatalogEntry, CertificateCatalog, Clock, CommandBus, Stores } from '../ports.js';
import type { PublishReport } from '../publishing/messages.js';
import type { PublishState } from '../publishing/model.js';
import { resolveSources } from '../publishing/resolve.js';
import type { AgentAccess } from '../publishing/source-access.js';
import { chunkSources, keptSources, nextRun, runSources, type RunRequest } from '../publishing/schedule.js';

/** Key Vault reads in flight at once during a poll. */
const READS_IN_FLIGHT = 8;
/** Source errors kept for the sources view. */
const MAX_KEPT_ERRORS = 1000;

export interface PublishRunOptions {
  /** The inventory interval: how often Key Vault is looked at, and the unit of hand-over and retry. */
  intervalSeconds: number;
  /** How the deployment gives agents Key Vault (source-access.ts); default fleet-wide. */
  agentAccess?: AgentAccess;
}

type RunStores = Pick<Stores, 'desired' | 'hosts' | 'inventory' | 'publishing' | 'operations'>;

const ago = (now: Date, iso: string | null): number => (iso ? now.getTime() - Date.parse(iso) : Infinity);

export class PublishRuns {
  constructor(
    private readonly stores: RunStores,
    private readonly catalog: CertificateCatalog,
    private readonly bus: CommandBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: PublishRunOptions,
  ) {}

  /** Every enabled ccs-id with sources: look at Key Vault when due, ask for a run when due. */
  async tick(): Promise<number> {
    let requested = 0;
    let listing: Promise<CatalogEntry[]> | undefined;
    const listOnce = () => (listing ??= this.catalog.list());
    for (const record of await this.stores.desired.list()) {
      if (!record.desired.enabled) continue;
      try {
        if (await this.schedule(record, listOnce)) requested++;
      } catch (error) {
        this.log.warn('publish scheduling failed; the next tick retries', {
          ccsId: record.ccsId,
          error: error instanceof Error ? error.name : 'unknown',
        });
      }
    }
    return requested;
  }

  /** Right after the sources changed: look again and publish now. */
  async refresh(ccsId: string): Promise<void> {
    const current = await this.stores.desired.get(ccsId);
    if (current?.record.desired.enabled) await this.schedule(current.record, () => this.catalog.list());
  }

  /**
   * A certificate has a new version (Event Grid's CertificateNewVersionCreated): every ccs-id that
   * names it, or selects by tag, looks at Key Vault now. Returns how many runs were asked for.
   */
  async certificateChanged(name: string): Promise<number> {
    let requested = 0;
    let listing: Promise<CatalogEntry[]> | undefined;
    const listOnce = () => (listing ??= this.catalog.list());
    for (const record of await this.stores.desired.list()) {
      if (!record.desired.enabled) continue;
      const sources = await this.stores.publishing.getSources(record.ccsId);
      const concerned =
        sources?.record.tagSelector != null ||
        sources?.record.certificates.some((c) => c.name.toLowerCase() === name.toLowerCase());
      if (!concerned) continue;
      await this.update(record.ccsId, (state) => ({ ...state, pollDue: true }));
      if (await this.schedule(record, listOnce)) requested++;
    }
    this.log.info('certificate new version noticed', { certificate: name, runs: requested });
    return requested;
  }

  /** Look at Key Vault if due, then decide and (maybe) send a run. True when a run was sent. */
  private async schedule(record: CcsRecord, listOnce: () => Promise<CatalogEntry[]>): Promise<boolean> {
    const { ccsId } = record;
    const sources = await this.stores.publishing.getSources(ccsId);
    const now = this.clock.now();
    const interval = this.options.intervalSeconds * 1000;
    for (let attempt = 0; attempt < 5; attempt++) {
      const { state, etag } = await this.stores.publishing.getState(ccsId);
      if (!sources && state.seq === 0) return false;
      let next: PublishState = { ...state };
      if (sources && (state.pollDue || ago(now, state.resolvedAt) >= interval)) {
        next = await this.poll(next, sources.record, listOnce);
      }
      if (next.rotation && !(await this.running(next.rotation.operationId))) next.rotation = null;
      const run = await this.runRequest(record, next);
      const { lease } = await this.stores.inventory.getLease(ccsId);
      const decision =
        run &&
        nextRun({
          state: next,
          run,
          holder: lease.holder,
          rotating: next.rotation !== null,
          now,
          intervalMs: interval,
        });
      if (decision) {
        next = {
          ...next,
          seq: decision.seq,
          host: decision.host,
          requestedAt: now.toISOString(),
          requestedDigest: decision.digest,
          profile: run.profile,
        };
      }
      if (JSON.stringify(next) !== JSON.stringify(state)) {
        if ((await this.stores.publishing.saveState(next, etag)) === null) continue;
      }
      if (!decision || !run) return false;
      await this.send(record, run, decision.seq, decision.host);
      this.log.info('publish run requested', {
        ccsId,
        host: decision.host,
        seq: decision.seq,
        reason: decision.reason,
        sources: run.sources.length,
        profile: run.profile,
      });
      return true;
    }
    throw new ConcurrencyError();
  }

  private async poll(
    state: PublishState,
    sources: NonNullable<Awaited<ReturnType<Stores['publishing']['getSources']>>>['record'],
    listOnce: () => Promise<CatalogEntry[]>,
  ): Promise<PublishState> {
    try {
      const resolution = await resolveSources(
        sources,
        await listOnce(),
        state.resolved,
        (name) => this.catalog.get(name),
        (items, work) => eachLimited(items, READS_IN_FLIGHT, work),
        { ccsId: state.ccsId, mode: this.options.agentAccess ?? 'fleet-wide' },
      );
      return {
        ...state,
        resolved: resolution.resolved,
        resolvedAt: this.clock.now().toISOString(),
        catalogError: null,
        pollDue: false,
      };
    } catch (error) {
      // Throttled or down (after the SDK's own retries): keep what was known, look again next tick.
      const code = (error as { code?: unknown }).code;
      this.log.warn('Key Vault could not be read for the sources; the next tick looks again', {
        ccsId: state.ccsId,
        code: typeof code === 'string' ? code : 'unknown',
      });
      return {
        ...state,
        catalogError: {
          code: typeof code === 'string' ? code : 'KeyVaultUnavailable',
          detail: error instanceof Error ? error.message.slice(0, 300) : 'Key Vault could not be read',
        },
      };
    }
  }

  /** The run the current state asks for; null without a path (nothing to publish to). */
  private async runRequest(record: CcsRecord, state: PublishState): Promise<RunRequest | null> {
    if (!record.desired.path) return null;
    const hosts = await this.stores.hosts.list(record.ccsId);
    const { profile } = choosePfxProfile(
      hosts.map((h) => ({ host: h.host, osVersion: h.actual?.osVersion })),
    );
    return {
      path: record.desired.path,
      privateKeyPassword: record.desired.privateKeyPassword,
      profile,
      sources: runSources(state.resolved),
      keep: keptSources(state.resolved),
    };
  }

  private async running(operationId: string): Promise<boolean> {
    const found = await this.stores.operations.get(operationId);
    return found?.record.status === 'Running';
  }

  private async send(record: CcsRecord, run: RunRequest, seq: number, host: string): Promise<void> {
    const chunks = chunkSources(run.sources);
    const files = await this.stores.publishing.listFiles(record.ccsId);
    const hosts = await this.stores.hosts.list(record.ccsId);
    // Staging folders of a finished rotation go once no host points into one any more.
    const removeStages =
      files.length > 0 && hosts.every((h) => (h.actual?.path ?? '').toLowerCase() === run.path.toLowerCase());
    for (const [index, sources] of chunks.entries()) {
      await this.bus.send({
        v: MESSAGE_VERSION,
        type: 'publish',
        ccsId: record.ccsId,
        host,
        seq,
        chunk: { index, count: chunks.length },
        path: run.path,
        privateKeyPassword: run.privateKeyPassword,
        profile: run.profile,
        sources,
        ...(index === 0 && run.keep.length > 0 ? { keep: run.keep.slice(0, 1000) } : {}),
        orphanAfterSeconds: Math.min(86_400, Math.max(60, this.options.intervalSeconds)),
        ...(removeStages ? { removeStages: true } : {}),
        issuedAt: this.clock.now().toISOString(),
      });
    }
  }

  // ── folding reports ──────────────────────────────────────────────────────────────────────
  /** One chunk of a run's report: the files it lists, its refused sources, and — once every chunk arrived — the run's end. */
  async fold(report: PublishReport): Promise<void> {
    const { ccsId, seq } = report;
    const { state } = await this.stores.publishing.getState(ccsId);
    if (seq !== state.seq || report.host.toLowerCase() !== (state.host ?? '').toLowerCase()) {
      this.log.info('publish report of another run ignored', { ccsId, host: report.host, seq });
      return;
    }
    const at = this.clock.now().toISOString();
    if (report.error) {
      this.log.warn('publish run failed', { ccsId, host: report.host, seq, code: report.error.code });
      await this.update(ccsId, (s) =>
        s.seq !== seq
          ? s
          : {
              ...s,
              reportedSeq: seq,
              reportedAt: at,
              completedDigest: s.requestedDigest,
              lastError: report.error,
            },
      );
      return;
    }
    await this.stores.publishing.putFiles(report.files.map((f) => ({ ...f, ccsId, seq, updatedAt: at })));
    const received = await this.stores.publishing.recordChunk(ccsId, seq, report.chunk.index);
    const complete = received >= report.chunk.count;
    if (complete) {
      await this.stores.publishing.sweepFiles(ccsId, seq);
      await this.stores.publishing.dropReceiptsBefore(ccsId, seq);
    }
    await this.update(ccsId, (s) => {
      if (s.seq !== seq) return s;
      const errors = s.errorsSeq === seq ? s.sourceErrors : [];
      const next: PublishState = {
        ...s,
        errorsSeq: seq,
        sourceErrors: [...errors, ...report.errors].slice(0, MAX_KEPT_ERRORS),
        ...(report.counts ? { counts: report.counts } : {}),
        ...(report.chunk.index === 0 ? { orphansDueAt: report.orphansDueAt ?? null } : {}),
      };
      return complete
        ? { ...next, reportedSeq: seq, reportedAt: at, completedDigest: s.requestedDigest, lastError: null }
        : next;
    });
    if (complete) {
      this.log.info('publish run done', {
        ccsId,
        host: report.host,
        seq,
        written: state.counts?.written ?? report.counts?.written,
        refused: report.errors.length,
      });
    }
  }

  /** Read-modify-write of the state with its ETag, retried when another writer came first. */
  async update(ccsId: string, change: (state: PublishState) => PublishState): Promise<PublishState> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const { state, etag } = await this.stores.publishing.getState(ccsId);
      const next = change(state);
      if (next === state) return state;
      if ((await this.stores.publishing.saveState(next, etag)) !== null) return next;
    }
    throw new ConcurrencyError();
  }
}
