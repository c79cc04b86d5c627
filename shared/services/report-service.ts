/**
 * Folds agent reports into host rows and operations. `hello` enrols a host (its queue is
 * created here) and sends it the current desired state when it is behind; `result` records a
 * step of an operation and advances it; `drift` records that someone changed IIS by hand.
 */
import type { DriftReport, HelloReport, InventoryReport, Report, ResultReport } from '../messages.js';
import type { PublishReport, ReencryptReport } from '../publishing/messages.js';
import { MESSAGE_VERSION, ReportSchema } from '../messages.js';
import { isCcsId, isHostName } from '../names.js';
import type { HostRecord } from '../model.js';
import type { Clock, CommandBus, PoisonQueue, Stores } from '../ports.js';
import type { Logger } from '../log.js';
import type { OperationEngine } from './operation-engine.js';
import type { BindingsFolder } from './bindings-folder.js';
import type { HelloFolder } from './enrolment-service.js';
import type { ReportAdmission } from './report-trust.js';
import { GroupCommit } from '../group-commit.js';
import { HostRows, type HostChange } from './host-rows.js';

/**
 * How long a hello trusts the desired generation this process read last (per ccs-id) to decide
 * that its host is not behind. A host that is behind gets the state read fresh, as does a host
 * without a row yet. A change committed meanwhile reaches the hosts by its own
 * commands; the hello is the backstop for a host that missed them, and the next hello catches up.
 */
export const DESIRED_GENERATION_TTL_MS = 30_000;

/** Where `inventory` reports go (InventoryService); without one they are dropped. */
export interface InventoryFolder {
  fold(report: InventoryReport): Promise<void>;
}

/** Where the publisher's reports go (shared/services/publishing.ts); without one they are dropped. */
export interface PublishingFolder {
  fold(report: PublishReport | ReencryptReport): Promise<void>;
}

/** `refused`: not signed by the host's registered key (poisoned); `pending`: a host awaiting approval. */
export type ReportOutcome = 'processed' | 'malformed' | 'refused' | 'pending';

export class ReportService implements HelloFolder {
  constructor(
    private readonly stores: Pick<Stores, 'desired' | 'hosts'>,
    private readonly bus: CommandBus,
    private readonly poison: PoisonQueue,
    private readonly engine: OperationEngine,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Checks every report's signature against its host's registered key (report-trust.ts). */
    private readonly trust: ReportAdmission,
    private readonly inventory?: InventoryFolder,
    /** Bindings and serving checks (issue 13); without it they are acknowledged unread. */
    private readonly bindings?: BindingsFolder,
    private readonly publishing?: PublishingFolder,
  ) {
    this.rows = new HostRows(stores.hosts, clock);
    this.advances = new GroupCommit(
      (id, items) => this.engine.advance(id).then(() => items.map(() => undefined)),
      Number.MAX_SAFE_INTEGER,
    );
  }

  /** Host rows, folded in transactions per ccs-id (host-rows.ts). */
  private readonly rows: HostRows;
  /** One advance per operation for the results folded at the same time, not one per result. */
  private readonly advances: GroupCommit<null, void>;
  /** The desired generation per ccs-id as last read, and when (DESIRED_GENERATION_TTL_MS). */
  private readonly generations = new Map<string, { generation: number; at: number }>();

  /**
   * Validate and fold one report. A malformed one goes straight to the poison queue (retrying
   * cannot fix it); a dependency failure throws, so the queue trigger retries the message.
   */
  async handle(message: unknown): Promise<ReportOutcome> {
    const admission = await this.trust.admit(message);
    if (admission !== 'trusted') return admission;
    const parsed = ReportSchema.safeParse(message);
    if (!parsed.success || !isCcsId(parsed.data.ccsId) || !isHostName(parsed.data.host)) {
      this.log.warn('malformed report moved to the poison queue', {
        issue: parsed.success ? 'bad ccsId or host' : parsed.error.issues[0]?.message,
      });
      await this.poison.add(typeof message === 'string' ? message : JSON.stringify(message ?? null));
      return 'malformed';
    }
    await this.fold(parsed.data);
    return 'processed';
  }

  /** The pending hello of a host an administrator just approved (enrolment-service.ts). */
  foldHello(hello: HelloReport): Promise<void> {
    return this.hello(hello);
  }

  private async fold(report: Report): Promise<void> {
    if (report.type === 'hello') return this.hello(report);
    if (report.type === 'result') return this.result(report);
    if (report.type === 'inventory') return this.inventory?.fold(report);
    if (report.type === 'bindings') return this.bindings?.chunk(report);
    if (report.type === 'publish' || report.type === 'reencrypt') return this.publishing?.fold(report);
    return this.drift(report);
  }

  private async hello(report: HelloReport): Promise<void> {
    // First, as before any row names the host: commands may go to its queue once it is listed.
    // The bus remembers the queues it made: a known host's hello costs no request here.
    await this.bus.ensureHostQueue(report.ccsId, report.host);
    const { before } = await this.foldRow(report, (stored) => ({
      ...this.base(report, stored),
      agentVersion: report.agentVersion,
      backend: report.backend,
      actual: report.actual,
      appliedGeneration: report.appliedGeneration,
    }));
    if (!before) this.log.info('host enrolled', { ccsId: report.ccsId, host: report.host });
    if (report.bindings) await this.bindings?.summary(report.ccsId, report.host, report.bindings, report.at);
    const recent = this.generations.get(report.ccsId);
    const now = this.clock.now().getTime();
    if (before && recent && now - recent.at < DESIRED_GENERATION_TTL_MS) {
      if (report.appliedGeneration >= recent.generation) return;
    }
    const state = await this.stores.desired.get(report.ccsId);
    this.generations.set(report.ccsId, { generation: state?.record.generation ?? 0, at: now });
    // A host behind the desired state (new, or back after an outage) gets it at once.
    if (state && report.appliedGeneration < state.record.generation) {
      await this.bus.send({
        v: MESSAGE_VERSION,
        type: 'apply',
        ccsId: report.ccsId,
        host: report.host,
        operationId: null,
        generation: state.record.generation,
        desired: state.record.desired,
        issuedAt: this.clock.now().toISOString(),
      });
    }
  }

  private async result(report: ResultReport): Promise<void> {
    const applied = report.phase === 'apply' && report.outcome === 'succeeded';
    const operationId = report.operationId;
    // The host row, the bindings and the operation's host row are independent: written together,
    // and all before the operation advances (an answer to `Prefer: wait` already shows them).
    await Promise.all([
      this.foldRow(report, (stored) => ({
        ...this.base(report, stored),
        actual: report.actual ?? stored?.actual ?? null,
        appliedGeneration: Math.max(report.appliedGeneration, stored?.appliedGeneration ?? 0),
        // A failed preflight belongs to its operation, not to the host: nothing changed there.
        lastError:
          report.phase === 'apply' && report.outcome === 'failed'
            ? report.error
            : applied
              ? null
              : (stored?.lastError ?? null),
      })),
      this.bindings?.result(report),
      operationId &&
        this.engine.recordHostResult(operationId, report.host, report.phase, report.outcome, report.error),
    ]);
    if (operationId) await this.advances.add(operationId, null);
  }

  private async drift(report: DriftReport): Promise<void> {
    await this.foldRow(report, (stored) => ({
      ...this.base(report, stored),
      actual: report.actual,
      appliedGeneration: Math.max(report.appliedGeneration, stored?.appliedGeneration ?? 0),
      lastError: report.error,
      lastDriftAt: report.at,
    }));
    this.log.warn('drift reported', { ccsId: report.ccsId, host: report.host, repaired: report.repaired });
  }

  private foldRow(report: Report, change: HostChange) {
    return this.rows.fold(report.ccsId, report.host, change);
  }

  private base(report: Report, existing: HostRecord | null): HostRecord {
    return {
      ccsId: report.ccsId,
      host: report.host,
      agentVersion: existing?.agentVersion ?? 'unknown',
      backend: existing?.backend ?? 'unknown',
      actual: existing?.actual ?? null,
      appliedGeneration: existing?.appliedGeneration ?? 0,
      lastSeen: this.clock.now().toISOString(),
      lastError: existing?.lastError ?? null,
      lastDriftAt: existing?.lastDriftAt ?? null,
    };
  }
}
