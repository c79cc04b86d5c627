/**
 * The agent loop: announce (hello), poll the host's command queue with adaptive backoff, handle
 * one message at a time, check drift, repeat. Everything it touches comes in as a port so unit
 * tests drive it with fakes and a fake clock.
 *
 * Message lifecycle (at-least-once safe):
 *   receive (invisible for visibilityTimeoutSeconds, longer than any command takes: the agent's
 *   role cannot extend it, agent/queue.ts) → reconcile → send the result report → delete.
 * The message is deleted only once its report is on the reports queue; if anything fails
 * before that, it reappears after its visibility timeout and is handled again, which is
 * harmless because commands are level-triggered by generation. After 5 failed deliveries
 * (dequeueCount > 5), or when it is not a valid command for this host, it is moved to
 * `<queue>-poison`.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { AllowedLocation } from '../shared/paths.js';
import {
  AgentCommandSchema,
  decodeMessageText,
  type AgentCommand,
  type BindingsReport,
  type Command,
  type HostError,
  type HostPublicKey,
  type ResultReport,
  type ScanCommand,
} from '../shared/messages.js';
import type { PublishCommand, ReencryptCommand } from '../shared/publishing/messages.js';
import { normalizeHostName } from '../shared/names.js';
import type { Backend } from './backends/backend.js';
import type { BoundNamesGuard } from './bindings/bound-names.js';
import type { HostBindings } from './bindings/host-bindings.js';
import { Backoff } from './backoff.js';
import { crashPoint } from './crash-points.js';
import type { SignatureVerdict } from './command-signature.js';
import type { Logger } from './log.js';
import type { PfxCheck } from './preflight.js';
import type { CommandQueue, ReceivedMessage, ReportSink } from './queue.js';
import {
  awaitsCurrentGeneration,
  CommandAbandonedError,
  Reconciler,
  type CommandOutcome,
} from './reconcile.js';
import { driftReport, helloReport, hostErrorReport, resultReport, type ReportContext } from './reports.js';
import type { SecretCache } from './secrets.js';
import type { StateStore } from './state.js';
import { AGENT_VERSION } from './version.js';

/** Deliveries after which a message is set aside: the sixth delivery goes to poison unprocessed. */
export const MAX_DEQUEUE_COUNT = 5;

/** A command delivered too often whose signature could not be confirmed: no field of it is reported. */
/** A preflight or an apply: a command of an operation, answered with a `result`. */
const isOperationCommand = (command: AgentCommand): command is Command =>
  command.type === 'preflight' || command.type === 'apply';

function abandonedUnverified(): HostError {
  return {
    name: 'host',
    code: 'CommandAbandoned',
    detail: `A command failed ${MAX_DEQUEUE_COUNT} times on this host, its signature unconfirmed; it was moved to the poison queue`,
    status: 500,
  };
}

export interface AgentSettings {
  ccsId: string;
  hostName: string;
  allowedLocations: readonly AllowedLocation[];
  environment: Record<string, string | undefined>;
  pollMinSeconds: number;
  pollMaxSeconds: number;
  helloIntervalSeconds: number;
  driftIntervalSeconds: number;
  visibilityTimeoutSeconds: number;
}

export interface AgentClock {
  /** Wall-clock time (ms since the epoch): timestamps, and what is compared with a command's issue time. */
  now(): number;
  /**
   * Monotonic milliseconds for the loop's schedule (next poll, hello, drift check); defaults to
   * `now()`. A wall clock that is stepped back (a time-service correction, a skewed host put
   * right) must not postpone the next poll by the size of the step: the soak found an agent
   * deaf for two minutes after its clock was put back by two (issue 22, seed 2).
   */
  ticks?(): number;
  /** Resolves after `ms`, or early when `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemAgentClock: AgentClock = {
  now: () => Date.now(),
  ticks: () => performance.now(),
  sleep: async (ms, signal) => {
    try {
      await sleepFor(ms, undefined, { signal });
    } catch {
      // Aborted: the agent is stopping.
    }
  },
};

export interface AgentPorts {
  queue: CommandQueue;
  reports: ReportSink;
  backend: Backend;
  secrets: SecretCache;
  state: StateStore;
  verifyPfx: (pfx: Buffer, password: string) => PfxCheck;
  log: Logger;
  clock?: AgentClock;
  agentVersion?: string;
  /** Runs `scan` commands (agent/inventory/scanner.ts); without it they are acknowledged and dropped. */
  inventory?: { scan(command: ScanCommand): Promise<unknown> };
  /** Runs `publish` and `reencrypt` commands (agent/publish/runner.ts); without it they are dropped. */
  publisher?: { run(command: PublishCommand | ReencryptCommand): Promise<unknown> };
  /** This host's public key and enrolment proof, announced in every hello (agent/host-key.ts). */
  identity?: { hostKey: HostPublicKey; enrolmentProof?: string };
  /** Checks the API's signature on every command (agent/command-signature.ts); the service always sets it. */
  verifier?: { verify(raw: unknown): Promise<SignatureVerdict> };
  /** Reports the CCS bindings and checks they serve (agent/bindings/); without it no bindings are reported. */
  bindings?: HostBindings;
  /** The preflight's bound-names check (agent/bindings/bound-names.ts); without it the check is not made. */
  boundNames?: BoundNamesGuard;
}

/** `deferred`: an apply left on the queue until this host knows the current generation (reconcile.ts). */
export type PollResult = 'empty' | 'handled' | 'failed' | 'deferred';

export class Agent {
  private readonly clock: AgentClock;
  private readonly reconciler: Reconciler;
  private readonly backoff: Backoff;
  private readonly ctx: ReportContext;
  private readonly sleepAbort = new AbortController();
  private stopping = false;
  private aborted = false;
  private nextHelloAt = Number.NEGATIVE_INFINITY;
  private nextDriftAt = Number.NEGATIVE_INFINITY;
  /**
   * Set when a preflight just passed here: its `apply` is expected, so poll fast until it comes —
   * but not before this time (agent clock, ms; 0 when the preflight's issue time is unreadable).
   * The API issues the apply once every targeted host has preflighted — the slowest picks its
   * preflight up as late as one idle interval after it was issued — and it has folded that last
   * report (a poll minimum is allowed for it). Polls before then would find nothing.
   */
  private applyNotBefore: number | null = null;
  /** When this process started: the hello it sends then is what a host without state waits on. */
  private readonly startedAt: number;

  constructor(
    private readonly settings: AgentSettings,
    private readonly ports: AgentPorts,
  ) {
    this.clock = ports.clock ?? systemAgentClock;
    this.startedAt = this.clock.now();
    this.backoff = new Backoff(settings.pollMinSeconds * 1000, settings.pollMaxSeconds * 1000);
    this.ctx = { ccsId: settings.ccsId, hostName: settings.hostName, now: () => new Date(this.clock.now()) };
    this.reconciler = new Reconciler({
      ccsId: settings.ccsId,
      backend: ports.backend,
      secrets: ports.secrets,
      state: ports.state,
      log: ports.log,
      allowedLocations: settings.allowedLocations,
      environment: settings.environment,
      verifyPfx: ports.verifyPfx,
      boundNames: ports.boundNames,
      now: this.ctx.now,
      abandoned: () => this.aborted,
    });
  }

  /** Graceful stop: finish the message in hand (report, delete), then `run()` returns. */
  stop(): void {
    this.stopping = true;
    this.sleepAbort.abort();
  }

  /**
   * Hard stop, as if the process were killed: the message in hand is abandoned at the next step
   * (before IIS is changed, or before its report) and reappears after its visibility timeout.
   */
  abort(): void {
    this.aborted = true;
    this.stop();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Announce this host and its state; the API enrols it and sends the desired state if behind. */
  async sendHello(): Promise<boolean> {
    try {
      const [actual, applied] = await Promise.all([this.ports.backend.readActual(), this.ports.state.load()]);
      const snapshot = await this.ports.bindings?.snapshot(applied.appliedGeneration);
      for (const report of snapshot?.reports ?? []) await this.ports.reports.send(report);
      await this.ports.reports.send(
        helloReport(this.ctx, {
          agentVersion: this.ports.agentVersion ?? AGENT_VERSION,
          backend: this.ports.backend.name,
          actual,
          appliedGeneration: applied.appliedGeneration,
          ...(snapshot ? { bindings: snapshot.summary } : {}),
          ...this.ports.identity,
        }),
      );
      if (snapshot) this.ports.bindings?.sent(snapshot.summary);
      this.ports.log.info('hello sent', {
        appliedGeneration: applied.appliedGeneration,
        enabled: actual.enabled,
      });
      this.nextHelloAt = this.ticks() + this.settings.helloIntervalSeconds * 1000;
      return true;
    } catch (error) {
      this.ports.log.warn('hello failed', { error: this.describe(error) });
      // Until the API has our hello it will not enrol us: retry sooner than the hello interval.
      const retry = Math.min(this.settings.helloIntervalSeconds, this.settings.pollMaxSeconds);
      this.nextHelloAt = this.ticks() + retry * 1000;
      return false;
    }
  }

  /** Compare IIS with the applied state, repair and report any drift. False when that failed. */
  async checkDrift(): Promise<boolean> {
    this.nextDriftAt = this.ticks() + this.settings.driftIntervalSeconds * 1000;
    try {
      const drift = await this.reconciler.checkDrift();
      if (drift) await this.ports.reports.send(driftReport(this.ctx, drift));
      return (await this.reportBindingChanges()) && (drift === null || drift.error === null);
    } catch (error) {
      this.ports.log.error('drift check failed', { error: this.describe(error) });
      return false;
    }
  }

  /** Bindings that changed since they were last reported (an administrator edited IIS's sites). */
  private async reportBindingChanges(): Promise<boolean> {
    const bindings = this.ports.bindings;
    if (!bindings) return true;
    const { appliedGeneration } = await this.ports.state.load();
    const changes = await bindings.changes(appliedGeneration);
    if (changes.reports.length === 0) return true;
    try {
      for (const report of changes.reports) await this.ports.reports.send(report);
      bindings.sent(changes.summary);
      this.ports.log.info('bindings changed', {
        total: changes.summary.total,
        code: changes.summary.error?.code,
      });
      return true;
    } catch (error) {
      // Not marked as sent: the next drift check sends them again.
      this.ports.log.warn('bindings report failed', { error: this.describe(error) });
      return false;
    }
  }

  /** Receive and handle at most one message. */
  async pollOnce(): Promise<PollResult> {
    const { queue, log } = this.ports;
    let message: ReceivedMessage | undefined;
    try {
      message = await queue.receive(this.settings.visibilityTimeoutSeconds);
    } catch (error) {
      log.warn('receive failed', { queue: queue.name, error: this.describe(error) });
      return 'failed';
    }
    if (!message) return 'empty';
    log.info('command received', { messageId: message.id, dequeueCount: message.dequeueCount });

    const command = this.parse(message);
    if (!command) return this.setAside(message, null);
    if (message.dequeueCount > MAX_DEQUEUE_COUNT) {
      // Reported against its operation only if the API signed it: whoever can merely write to
      // this queue must not be able to fail (abort) someone else's change.
      const verdict = await this.verify(message);
      return this.setAside(message, verdict.ok ? { abandoned: command } : { refusal: abandonedUnverified() });
    }
    const verdict = await this.verify(message);
    if (!verdict.ok && !verdict.permanent) {
      log.warn('command signature not verified yet; it will be redelivered', {
        messageId: message.id,
        detail: verdict.detail,
      });
      return 'failed';
    }
    if (!verdict.ok) {
      log.warn('command refused: not signed by the API', { messageId: message.id, code: verdict.code });
      // A host-level error only: nothing of the refused message (operation, type, generation)
      // reaches a report.
      return this.setAside(message, {
        refusal: {
          name: 'host',
          code: verdict.code,
          detail: `${verdict.detail}; it was moved to the poison queue`,
          status: 403,
        },
      });
    }
    crashPoint('after-receive', command);
    return this.handle(message, command);
  }

  /** A valid command for this host, or undefined (the reason is logged). */
  private parse(message: ReceivedMessage): AgentCommand | undefined {
    let raw: unknown;
    try {
      raw = decodeMessageText(message.text);
    } catch {
      this.ports.log.warn('malformed message: not JSON', { messageId: message.id });
      return undefined;
    }
    const parsed = AgentCommandSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.ports.log.warn('malformed message: not a command', {
        messageId: message.id,
        issue: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
      });
      return undefined;
    }
    const command = parsed.data;
    if (
      command.ccsId !== this.settings.ccsId ||
      normalizeHostName(command.host) !== normalizeHostName(this.settings.hostName)
    ) {
      this.ports.log.warn('malformed message: addressed to another host', {
        messageId: message.id,
        ccsId: command.ccsId,
        host: command.host,
      });
      return undefined;
    }
    return command;
  }

  /** Checks the API's signature (every message, when the agent verifies; none in unsigned tests). */
  private async verify(message: ReceivedMessage): Promise<SignatureVerdict> {
    if (!this.ports.verifier) return { ok: true };
    try {
      return await this.ports.verifier.verify(decodeMessageText(message.text));
    } catch (error) {
      this.ports.log.warn('command signature check failed', { error: this.describe(error) });
      return { ok: false, permanent: false, detail: 'The command signature could not be checked' };
    }
  }

  /**
   * Move a message to the poison queue, after reporting why: a verified command that kept failing
   * against its operation, a refused one as an error of this host only, a malformed one not at all.
   */
  private async setAside(
    message: ReceivedMessage,
    report: { abandoned: AgentCommand } | { refusal: HostError } | null,
  ): Promise<PollResult> {
    const { queue, log, reports } = this.ports;
    // A scan belongs to no operation: the API hands the lease over when it stays unanswered.
    // Nor does a publish run; a rotation step left unanswered fails its operation at the deadline.
    const abandoned =
      report && 'abandoned' in report && isOperationCommand(report.abandoned) ? report.abandoned : null;
    const refusal = report && 'refusal' in report ? report.refusal : null;
    if (abandoned || refusal) {
      // Best effort: tells the API why this host will not answer; the poisoning goes ahead regardless.
      try {
        const applied = await this.ports.state.load();
        await reports.send(
          abandoned
            ? resultReport(this.ctx, abandoned, {
                outcome: 'failed',
                error: {
                  name: 'host',
                  code: 'CommandAbandoned',
                  detail: `The command failed ${MAX_DEQUEUE_COUNT} times on this host and was moved to the poison queue`,
                  status: 500,
                },
                actual: null,
                appliedGeneration: applied.appliedGeneration,
              })
            : hostErrorReport(this.ctx, { error: refusal!, appliedGeneration: applied.appliedGeneration }),
        );
      } catch (error) {
        log.warn('could not report a command set aside', { error: this.describe(error) });
      }
    }
    try {
      await queue.poison(message);
      log.warn('message moved to poison queue', {
        messageId: message.id,
        dequeueCount: message.dequeueCount,
        reason: refusal ? refusal.code : report ? 'too many attempts' : 'malformed',
      });
      return 'handled';
    } catch (error) {
      log.error('could not move message to poison queue', {
        messageId: message.id,
        error: this.describe(error),
      });
      return 'failed';
    }
  }

  private async handle(message: ReceivedMessage, command: AgentCommand): Promise<PollResult> {
    if (command.type === 'scan') return this.handleScan(message, command);
    if (command.type === 'publish' || command.type === 'reencrypt')
      return this.handlePublish(message, command);
    return this.handleChange(message, command);
  }

  /** A scan: report the share's certificates (in chunks), then delete the message. */
  private async handleScan(message: ReceivedMessage, command: ScanCommand): Promise<PollResult> {
    const { queue, log, inventory } = this.ports;
    try {
      if (inventory) await inventory.scan(command);
      else
        log.warn('scan command ignored: this agent has no inventory scanner', { scanSeq: command.scanSeq });
      if (this.aborted) return 'failed';
      await queue.delete(message);
      return 'handled';
    } catch (error) {
      log.error('scan not completed; it will be redelivered', {
        messageId: message.id,
        scanSeq: command.scanSeq,
        error: this.describe(error),
      });
      return 'failed';
    }
  }

  /** A publish run or a rotation step: the runner reports; the message goes once it has. */
  private async handlePublish(
    message: ReceivedMessage,
    command: PublishCommand | ReencryptCommand,
  ): Promise<PollResult> {
    const { queue, log, publisher } = this.ports;
    try {
      if (publisher) await publisher.run(command);
      else log.warn('publisher command ignored: this agent has no publisher', { type: command.type });
      if (this.aborted) return 'failed';
      await queue.delete(message);
      return 'handled';
    } catch (error) {
      log.error('publisher command not completed; it will be redelivered', {
        messageId: message.id,
        type: command.type,
        error: this.describe(error),
      });
      return 'failed';
    }
  }

  private async handleChange(message: ReceivedMessage, command: Command): Promise<PollResult> {
    const { queue, log, reports } = this.ports;
    // Only signed issue times count, so only an agent that verifies signatures waits on them.
    if (
      this.ports.verifier &&
      awaitsCurrentGeneration(await this.ports.state.load(), command, this.startedAt)
    ) {
      // Left invisible until its visibility timeout (never extended or shortened: no Update
      // Message right): by then the API has answered this host's hello with the current state,
      // and this older command is superseded.
      log.warn('apply left for later: this host has no applied state and waits for the current generation', {
        messageId: message.id,
        generation: command.generation,
      });
      return 'deferred';
    }
    try {
      const outcome = await this.reconciler.handle(command);
      if (this.aborted) {
        log.warn('stopped before reporting; the command will be redelivered', { messageId: message.id });
        return 'failed';
      }
      const extras = await this.bindingsForResult(command, outcome);
      if (this.aborted) return 'failed'; // stopped during the serving check: redelivered, then superseded
      crashPoint('before-report', command);
      for (const report of extras.reports) await reports.send(report);
      await reports.send(resultReport(this.ctx, command, { ...outcome, ...extras.fields }));
      if (extras.fields.bindings) this.ports.bindings?.sent(extras.fields.bindings);
      crashPoint('after-report', command);
      await queue.delete(message);
      const issuedAt = Date.parse(command.issuedAt);
      this.applyNotBefore =
        command.type !== 'preflight' || outcome.outcome !== 'succeeded'
          ? null
          : Number.isFinite(issuedAt)
            ? issuedAt + (this.settings.pollMaxSeconds + this.settings.pollMinSeconds) * 1000
            : 0;
      log.info('command done', {
        type: command.type,
        generation: command.generation,
        outcome: outcome.outcome,
        code: outcome.error?.code,
      });
      return 'handled';
    } catch (error) {
      if (error instanceof CommandAbandonedError) {
        log.warn('stopped before applying; the command will be redelivered', { messageId: message.id });
        return 'failed';
      }
      // Not deleted: it comes back after its visibility timeout (and goes to poison after 5 tries).
      log.error('command not completed; it will be redelivered', {
        messageId: message.id,
        type: command.type,
        generation: command.generation,
        error: this.describe(error),
      });
      return 'failed';
    }
  }

  /** The bindings a result carries and, after an apply that succeeded, its serving check. */
  private async bindingsForResult(
    command: Command,
    outcome: CommandOutcome,
  ): Promise<{ fields: Pick<ResultReport, 'bindings' | 'serving'>; reports: BindingsReport[] }> {
    const bindings = this.ports.bindings;
    if (!bindings) return { fields: {}, reports: [] };
    const snapshot = await bindings.snapshot(outcome.appliedGeneration);
    const serving =
      command.type === 'apply' && outcome.outcome === 'succeeded' && snapshot.bindings
        ? await bindings.checkServing(snapshot.bindings)
        : undefined;
    return {
      fields: { bindings: snapshot.summary, ...(serving ? { serving } : {}) },
      reports: snapshot.reports,
    };
  }

  /** An error, described for a log line without anything secret (messages are redacted by the logger too). */
  private describe(error: unknown): string {
    if (error instanceof Error) {
      const status = (error as { statusCode?: unknown }).statusCode;
      return `${error.name}${typeof status === 'number' ? ` ${status}` : ''}: ${error.message}`.slice(0, 500);
    }
    return 'unknown error';
  }

  /** The schedule's clock: monotonic when the clock has one. */
  private ticks(): number {
    return this.clock.ticks?.() ?? this.clock.now();
  }

  /** How long until the next poll, after a poll with this result. */
  private pollDelay(result: PollResult): number {
    let delay: number;
    if (result === 'deferred') {
      // What this host waits for (the answer to its hello) may be next on the queue.
      delay = this.backoff.afterActivity();
    } else if (result !== 'handled') {
      delay = this.backoff.afterIdle();
    } else if (this.applyNotBefore !== null) {
      // Its apply cannot be queued yet (the API needs every host's report first): wait until it
      // can be — at least the minimum, at most the idle maximum, which also bounds what a clock
      // skew between this server and the API can cost — then poll fast until it comes.
      this.backoff.afterActivity();
      const fast = this.backoff.afterIdle();
      const untilPossible = this.applyNotBefore - this.clock.now();
      delay = Math.min(this.settings.pollMaxSeconds * 1000, Math.max(fast, untilPossible));
    } else {
      // A change was completed: poll once at once (drain what may be queued), then idle; more
      // fast polls would only cost requests (docs/performance.md).
      delay = this.backoff.afterCompletion();
    }
    return delay;
  }

  /** Run until stop(): hello on start and every helloIntervalSeconds, drift every driftIntervalSeconds. */
  async run(): Promise<void> {
    this.ports.log.info('agent started', {
      ccsId: this.settings.ccsId,
      host: this.settings.hostName,
      queue: this.ports.queue.name,
      backend: this.ports.backend.name,
    });
    await this.sendHello();
    // Drift is checked at start too: a host restarted after a hand edit is repaired at once.
    this.nextDriftAt = this.ticks();
    let nextPollAt = this.ticks();
    while (!this.stopping) {
      if (this.ticks() >= this.nextHelloAt) await this.sendHello();
      if (this.ticks() >= this.nextDriftAt) await this.checkDrift();
      if (this.stopping) break;
      // A hello or drift check that falls due between two polls does not bring the next poll
      // forward: each poll is a billed storage request (docs/performance.md).
      if (this.ticks() >= nextPollAt) {
        const result = await this.pollOnce();
        if (this.stopping) break;
        nextPollAt = this.ticks() + this.pollDelay(result);
      }
      // Sleep until the next poll, hello or drift check, whichever comes first.
      const wait = Math.min(nextPollAt, this.nextHelloAt, this.nextDriftAt) - this.ticks();
      if (wait > 0) await this.clock.sleep(wait, this.sleepAbort.signal);
    }
    this.ports.log.info('agent stopped', { aborted: this.aborted });
  }

  /** `--once`: hello, drain the queue, check drift once. False when any step could not be done. */
  async runOnce(): Promise<boolean> {
    let ok = await this.sendHello();
    for (;;) {
      if (this.stopping) break;
      const result = await this.pollOnce();
      if (result === 'empty') break;
      if (result === 'failed') {
        ok = false;
        break;
      }
    }
    const driftOk = await this.checkDrift();
    return ok && driftOk;
  }
}
