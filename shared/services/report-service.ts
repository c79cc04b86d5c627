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

/** Where `inventory` reports go (InventoryService); without one they are dropped. */
export interface InventoryFolder {
  fold(report: InventoryReport): Promise<void>;
}

/** Where the publisher's reports go (shared/services/publishing.ts); without one they are dropped. */
export interface PublishingFolder {
  fold(report: PublishReport | ReencryptReport): Promise<void>;
}

export type ReportOutcome = 'processed' | 'malformed';

export class ReportService {
  constructor(
    private readonly stores: Pick<Stores, 'desired' | 'hosts'>,
    private readonly bus: CommandBus,
    private readonly poison: PoisonQueue,
    private readonly engine: OperationEngine,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly inventory?: InventoryFolder,
    private readonly publishing?: PublishingFolder,
  ) {}

  /**
   * Validate and fold one report. A malformed one goes straight to the poison queue (retrying
   * cannot fix it); a dependency failure throws, so the queue trigger retries the message.
   */
  async handle(message: unknown): Promise<ReportOutcome> {
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

  private async fold(report: Report): Promise<void> {
    if (report.type === 'hello') return this.hello(report);
    if (report.type === 'result') return this.result(report);
    if (report.type === 'inventory') return this.inventory?.fold(report);
    if (report.type === 'publish' || report.type === 'reencrypt') return this.publishing?.fold(report);
    // Bindings are stored by the API side of issue 13; until then they are acknowledged unread.
    if (report.type === 'bindings') return;
    return this.drift(report);
  }

  private async hello(report: HelloReport): Promise<void> {
    const existing = await this.stores.hosts.get(report.ccsId, report.host);
    await this.bus.ensureHostQueue(report.ccsId, report.host);
    await this.stores.hosts.put({
      ...this.base(report, existing),
      agentVersion: report.agentVersion,
      backend: report.backend,
      actual: report.actual,
      appliedGeneration: report.appliedGeneration,
    });
    if (!existing) this.log.info('host enrolled', { ccsId: report.ccsId, host: report.host });
    const state = await this.stores.desired.get(report.ccsId);
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
    const existing = await this.stores.hosts.get(report.ccsId, report.host);
    const applied = report.phase === 'apply' && report.outcome === 'succeeded';
    await this.stores.hosts.put({
      ...this.base(report, existing),
      actual: report.actual ?? existing?.actual ?? null,
      appliedGeneration: Math.max(report.appliedGeneration, existing?.appliedGeneration ?? 0),
      // A failed preflight belongs to its operation, not to the host: nothing changed there.
      lastError:
        report.phase === 'apply' && report.outcome === 'failed'
          ? report.error
          : applied
            ? null
            : (existing?.lastError ?? null),
    });
    if (report.operationId) {
      await this.engine.recordHostResult(
        report.operationId,
        report.host,
        report.phase,
        report.outcome,
        report.error,
      );
      await this.engine.advance(report.operationId);
    }
  }

  private async drift(report: DriftReport): Promise<void> {
    const existing = await this.stores.hosts.get(report.ccsId, report.host);
    await this.stores.hosts.put({
      ...this.base(report, existing),
      actual: report.actual,
      appliedGeneration: Math.max(report.appliedGeneration, existing?.appliedGeneration ?? 0),
      lastError: report.error,
      lastDriftAt: report.at,
    });
    this.log.warn('drift reported', { ccsId: report.ccsId, host: report.host, repaired: report.repaired });
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
