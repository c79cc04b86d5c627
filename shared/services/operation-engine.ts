/**
 * Runs a change across a fleet in two phases (README: "How a change travels"):
 * every targeted host preflights the proposed state; only when no reachable host failed does
 * the change commit (generation + 1, conditional on the generation it was computed from) and
 * the hosts apply it. Everything is level-triggered: `advance` can run any number of times,
 * from reports, the sweeper or a waiting request, and always moves the operation forward.
 */
import { randomUUID } from 'node:crypto';
import type { DesiredState, HostError } from '../messages.js';
import { MESSAGE_VERSION } from '../messages.js';
import type { CcsRecord, OperationHostRecord, OperationKind, OperationRecord } from '../model.js';
import { isTerminal } from '../model.js';
import type { Clock, CommandBus } from '../ports.js';
import { ConcurrencyError } from '../errors.js';
import type { TableRepositories } from '../adapters/table-repositories.js';
import type { Logger } from '../log.js';
import { describeChanges, type AuditSink } from './audit-log.js';
import { hostErrorToOperationError, operationConflict, hostsUnreachable } from './operation-errors.js';
import { eachLimited } from '../each-limited.js';

/** A commit left half-done is resumed by the sweeper or a report after this long by default. */
const DEFAULT_STUCK_COMMIT_MS = 30_000;
/**
 * Commands in flight at once in a fan-out: enough to keep storage busy, few enough not to open a
 * thousand connections from one Function instance at once.
 */
const FAN_OUT_CONCURRENCY = 256;

export interface EngineOptions {
  preflightTimeoutMs: number;
  operationTimeoutMs: number;
  /** A commit left half-done (process died) is resumed after this long. */
  stuckCommitMs?: number;
  /** Where every accepted change is recorded (shared/services/audit-log.ts) before it starts. */
  audit?: AuditSink;
}

export interface ChangeInput {
  ccsId: string;
  kind: OperationKind;
  proposed: DesiredState;
  changedFields: string[];
  base: CcsRecord | null;
  requestedBy: string;
}

export class OperationEngine {
  constructor(
    private readonly repos: TableRepositories,
    private readonly bus: CommandBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: EngineOptions,
  ) {}

  /** Record the operation, then start phase one (or commit at once: no hosts, or a disable). */
  async start(input: ChangeInput): Promise<OperationRecord> {
    // Nothing is recorded unless its commands can go out (a signing key at hand): no half-done work.
    await this.bus.ready?.();
    const now = this.clock.now();
    const hosts = await this.repos.listHosts(input.ccsId);
    const baseGeneration = input.base?.generation ?? 0;
    // Disabling cannot break access to a share, so it needs no preflight.
    const preflight = hosts.length > 0 && input.kind !== 'disable';
    const op: OperationRecord = {
      id: randomUUID(),
      ccsId: input.ccsId,
      kind: input.kind,
      status: 'Running',
      phase: preflight ? 'preflight' : 'committing',
      baseGeneration,
      targetGeneration: baseGeneration + 1,
      proposed: input.proposed,
      changedFields: input.changedFields,
      requestedBy: input.requestedBy,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      preflightDeadline: new Date(now.getTime() + this.options.preflightTimeoutMs).toISOString(),
      deadline: new Date(now.getTime() + this.options.operationTimeoutMs).toISOString(),
      error: null,
    };
    await this.options.audit?.record({
      who: input.requestedBy,
      ccsId: input.ccsId,
      operationId: op.id,
      kind: input.kind,
      changes: describeChanges(input.base?.desired ?? null, input.proposed),
    });
    const rows = hosts.map((h) => this.hostRow(op.id, h.host, preflight ? 'pending' : 'skipped'));
    const etag = await this.repos.createOperation(op, rows);
    if (preflight) {
      await eachLimited(hosts, FAN_OUT_CONCURRENCY, (h) => this.sendCommand('preflight', op, h.host));
      this.log.info('operation started', {
        operationId: op.id,
        ccsId: op.ccsId,
        kind: op.kind,
        hosts: hosts.length,
      });
      return op;
    }
    try {
      await this.commitAndApply(op, etag);
    } catch (error) {
      // A fan-out slower than stuckCommitMs was taken over by the sweeper (or a report), which
      // commits and applies it in its turn: the change is under way, not refused.
      if (!(error instanceof ConcurrencyError)) throw error;
    }
    return (await this.repos.getOperation(op.id))?.record ?? op;
  }

  /** Advances running in this process, by operation id (see `advance`). */
  private readonly advancing = new Map<
    string,
    { done: Promise<unknown>; again?: Promise<OperationRecord | null> }
  >();

  /**
   * Move an operation forward as far as the reports allow; returns its current record.
   *
   * Calls for one operation are coalesced in this process: while an advance runs, later callers
   * share one more pass that starts after it, and so sees every result recorded before they
   * called. A batch of reports of one operation then costs two advances, not one each.
   */
  advance(id: string): Promise<OperationRecord | null> {
    const running = this.advancing.get(id);
    if (running) {
      running.again ??= running.done.then(
        () => this.advance(id),
        () => this.advance(id),
      );
      return running.again;
    }
    const pass = this.advanceOnce(id);
    const entry = { done: pass as Promise<unknown> };
    this.advancing.set(id, entry);
    const clear = () => {
      if (this.advancing.get(id) === entry) this.advancing.delete(id);
    };
    pass.then(clear, clear);
    return pass;
  }

  private async advanceOnce(id: string): Promise<OperationRecord | null> {
    const loaded = await this.repos.getOperation(id);
    if (!loaded) return null;
    const { record: op, etag } = loaded;
    if (isTerminal(op.status)) return op;
    let changed = true;
    try {
      if (op.phase === 'preflight') changed = await this.advancePreflight(op, etag);
      else if (op.phase === 'committing') changed = await this.resumeCommit(op, etag);
      else if (op.phase === 'apply') changed = (await this.advanceApply(op, etag)) !== etag;
    } catch (error) {
      // Another invocation advanced it first; its result stands.
      if (!(error instanceof ConcurrencyError)) throw error;
    }
    // Nothing written: the record just read is current.
    if (!changed) return op;
    return (await this.repos.getOperation(id))?.record ?? op;
  }

  /** Record one host's step result for an operation (from a `result` report). */
  async recordHostResult(
    id: string,
    host: string,
    phase: 'preflight' | 'apply',
    outcome: 'succeeded' | 'failed' | 'superseded',
    error: HostError | null,
  ): Promise<void> {
    const now = this.clock.now().toISOString();
    // A real result is written at once, without reading the row: only a duplicate's
    // `superseded` must look first (it never overwrites a settled step), and only a host with no
    // row yet (not targeted when the operation started) needs one made.
    let existing: OperationHostRecord | null;
    if (outcome !== 'superseded') {
      const stepError = outcome === 'failed' ? error : undefined;
      if (await this.repos.setOperationHostStep(id, host, phase, outcome, stepError, now)) return;
      existing = null; // the merge just found no row: no need to read it again
    } else {
      existing = await this.repos.getOperationHost(id, host);
    }
    // A report naming an operation that does not exist leaves no orphan row behind.
    if (!existing && !(await this.repos.getOperation(id))) return;
    // A duplicate delivery answers `superseded`: it never overwrites the step's real result.
    const settled = existing?.[phase] === 'succeeded' || existing?.[phase] === 'failed';
    if (outcome === 'superseded' && settled) return;
    const row = existing ?? this.hostRow(id, host, 'skipped');
    const updated: OperationHostRecord = {
      ...row,
      [phase]: outcome,
      error: outcome === 'failed' ? error : row.error,
      updatedAt: now,
    };
    await this.repos.upsertOperationHost(updated);
  }

  /**
   * Runs on every preflight report, so it reads only the first failed and the first pending host
   * row (two small queries), not every host's row: at N hosts that is O(N) per operation rather
   * than O(N²). Returns whether it wrote anything.
   */
  private async advancePreflight(op: OperationRecord, etag: string): Promise<boolean> {
    const [failed, pending] = await Promise.all([
      this.repos.operationHostsWhere(op.id, 'preflight', 'failed', 1),
      this.repos.operationHostsWhere(op.id, 'preflight', 'pending', 1),
    ]);
    if (failed.length > 0) {
      // The first failed host's error decides (host order); read them all only if it has none.
      const errors = failed[0]?.error
        ? failed.map((r) => r.error)
        : (await this.repos.operationHostsWhere(op.id, 'preflight', 'failed')).map((r) => r.error);
      await this.finish(op, etag, 'Failed', hostErrorToOperationError(errors));
      return true;
    }
    if (pending.length > 0) {
      if (this.clock.now() < new Date(op.preflightDeadline)) return false;
      // Silent hosts are marked unreachable; they preflight again (in the agent) when they return.
      const now = this.clock.now().toISOString();
      const silent = await this.repos.operationHostsWhere(op.id, 'preflight', 'pending');
      await Promise.all(
        silent.map((r) => this.repos.upsertOperationHost({ ...r, preflight: 'unreachable', updatedAt: now })),
      );
    }
    const committing = { ...op, phase: 'committing' as const, updatedAt: this.clock.now().toISOString() };
    const next = await this.repos.saveOperation(committing, etag);
    await this.commitAndApply(committing, next);
    return true;
  }

  private async resumeCommit(op: OperationRecord, etag: string): Promise<boolean> {
    const stuckMs = this.options.stuckCommitMs ?? DEFAULT_STUCK_COMMIT_MS;
    if (this.clock.now().getTime() - new Date(op.updatedAt).getTime() < stuckMs) return false;
    const claimed = { ...op, updatedAt: this.clock.now().toISOString() };
    await this.commitAndApply(claimed, await this.repos.saveOperation(claimed, etag));
    return true;
  }

  /** Commit the proposed state if the base is still current, then send `apply` to every host. */
  private async commitAndApply(op: OperationRecord, etag: string): Promise<string> {
    if (!(await this.commit(op))) {
      return this.finish(op, etag, 'Failed', operationConflict());
    }
    const hosts = await this.repos.listHosts(op.ccsId);
    const known = new Set((await this.repos.operationHosts(op.id)).map((r) => r.host.toLowerCase()));
    await Promise.all(
      hosts
        .filter((h) => !known.has(h.host.toLowerCase()))
        .map((h) => this.repos.upsertOperationHost(this.hostRow(op.id, h.host, 'skipped'))),
    );
    const claim = await this.fanOut(
      op,
      etag,
      hosts.map((h) => h.host),
    );
    const applying = { ...claim.op, phase: 'apply' as const, updatedAt: this.clock.now().toISOString() };
    const next = await this.repos.saveOperation(applying, claim.etag);
    this.log.info('operation committed', {
      operationId: op.id,
      ccsId: op.ccsId,
      generation: op.targetGeneration,
    });
    return this.advanceApply(applying, next);
  }

  /**
   * Send `apply` to every host, FAN_OUT_CONCURRENCY at a time, renewing this process's claim on
   * the committing operation (its updatedAt) every third of stuckCommitMs. A fan-out slowed by
   * storage (throttling, a thousand hosts) is then not mistaken for one whose process died and
   * sent all over again by the sweeper or a report while it is still under way; if it was taken
   * over all the same, it stops (ConcurrencyError) and leaves the rest to the new owner.
   */
  private async fanOut(
    op: OperationRecord,
    etag: string,
    hosts: string[],
  ): Promise<{ op: OperationRecord; etag: string }> {
    const renewEveryMs = (this.options.stuckCommitMs ?? DEFAULT_STUCK_COMMIT_MS) / 3;
    let claim = { op, etag };
    let renewedAt = this.clock.now().getTime();
    let renewing: Promise<void> | null = null;
    await eachLimited(hosts, FAN_OUT_CONCURRENCY, async (host) => {
      await this.sendCommand('apply', op, host);
      const now = this.clock.now().getTime();
      if (renewing === null && now - renewedAt >= renewEveryMs) {
        renewedAt = now;
        const renewed = { ...claim.op, updatedAt: new Date(now).toISOString() };
        renewing = this.repos.saveOperation(renewed, claim.etag).then((next) => {
          claim = { op: renewed, etag: next };
          renewing = null;
        });
      }
      if (renewing) await renewing;
    });
    return claim;
  }

  private async commit(op: OperationRecord): Promise<boolean> {
    const current = await this.repos.getCcs(op.ccsId);
    if (current?.record.lastOperationId === op.id) return true; // a resumed commit that had landed
    if ((current?.record.generation ?? 0) !== op.baseGeneration) return false;
    try {
      await this.repos.saveCcs(
        {
          ccsId: op.ccsId,
          desired: op.proposed,
          generation: op.targetGeneration,
          updatedAt: this.clock.now().toISOString(),
          lastOperationId: op.id,
        },
        current?.etag ?? null,
      );
      return true;
    } catch (error) {
      if (error instanceof ConcurrencyError) return false;
      throw error;
    }
  }

  private async advanceApply(op: OperationRecord, etag: string): Promise<string> {
    // Runs on every apply report. While the first host row still pending belongs to a host that
    // has not applied this generation, the phase cannot be over: answered with two small reads
    // instead of reading every host row and every host (O(N²) over an operation).
    if (this.clock.now() < new Date(op.deadline)) {
      const [first] = await this.repos.operationHostsWhere(op.id, 'apply', 'pending', 1);
      if (first) {
        const host = await this.repos.getHost(op.ccsId, first.host);
        if ((host?.appliedGeneration ?? 0) < op.targetGeneration) return etag;
      }
    }
    const [rows, hosts] = await Promise.all([
      this.repos.operationHosts(op.id),
      this.repos.listHosts(op.ccsId),
    ]);
    // Level-triggered: a host that applied this generation or a newer one is done, whatever
    // message told it to.
    const applied = new Set(
      hosts.filter((h) => h.appliedGeneration >= op.targetGeneration).map((h) => h.host.toLowerCase()),
    );
    const done = (r: OperationHostRecord) => applied.has(r.host.toLowerCase()) || r.apply !== 'pending';
    const failed = rows.filter((r) => r.apply === 'failed' && !applied.has(r.host.toLowerCase()));
    if (rows.every(done)) {
      return failed.length > 0
        ? this.finish(op, etag, 'Failed', hostErrorToOperationError(failed.map((r) => r.error)))
        : this.finish(op, etag, 'Succeeded', null);
    }
    if (this.clock.now() >= new Date(op.deadline)) {
      const silent = rows.filter((r) => !done(r)).map((r) => r.host);
      return this.finish(op, etag, 'Failed', hostsUnreachable(silent));
    }
    return etag;
  }

  private async finish(
    op: OperationRecord,
    etag: string,
    status: 'Succeeded' | 'Failed',
    error: OperationRecord['error'],
  ): Promise<string> {
    const now = this.clock.now().toISOString();
    this.log.info('operation finished', { operationId: op.id, ccsId: op.ccsId, status, code: error?.code });
    return this.repos.saveOperation({ ...op, status, phase: 'done', error, updatedAt: now }, etag);
  }

  private hostRow(operationId: string, host: string, preflight: 'pending' | 'skipped'): OperationHostRecord {
    return {
      operationId,
      host,
      preflight,
      apply: 'pending',
      error: null,
      updatedAt: this.clock.now().toISOString(),
    };
  }

  private async sendCommand(type: 'preflight' | 'apply', op: OperationRecord, host: string): Promise<void> {
    const common = {
      v: MESSAGE_VERSION,
      ccsId: op.ccsId,
      host,
      generation: op.targetGeneration,
      desired: op.proposed,
      issuedAt: this.clock.now().toISOString(),
    } as const;
    await this.bus.send({ ...common, type, operationId: op.id });
  }
}
