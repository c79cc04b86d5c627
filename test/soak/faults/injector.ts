/**
 * The seeded fault injector: starts faults of random kinds on random free targets (one fault
 * per host, per host queue and per service at a time), lets each hold, ends it, and records
 * both edges in the history. `inject(n)` starts n faults and returns at once; `settle()` waits
 * until every fault has ended.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { FaultKind } from '../history.js';
import type { Random } from '../random.js';
import { agentKill } from './agent-kill.js';
import { clockSkew } from './clock-skew.js';
import { diskFull } from './disk-full.js';
import type { FaultContext, FaultModule } from './fault.js';
import { hostOffline } from './host-offline.js';
import { keyVaultOutage, keyVaultThrottle } from './keyvault.js';
import { queueDelay } from './queue-delay.js';
import { queueDuplicate } from './queue-duplicate.js';
import { storageRestart } from './storage-restart.js';

export const FAULTS: readonly FaultModule[] = [
  agentKill,
  storageRestart,
  keyVaultThrottle,
  keyVaultOutage,
  queueDelay,
  queueDuplicate,
  clockSkew,
  diskFull,
  hostOffline,
];

/** How often each kind is drawn (relative). Service-wide faults are rarer: they hit everyone. */
export const DEFAULT_WEIGHTS: Readonly<Record<FaultKind, number>> = {
  'agent-kill': 5,
  'storage-restart': 1,
  'keyvault-throttle': 1.5,
  'keyvault-outage': 1,
  'queue-delay': 3,
  'queue-duplicate': 3,
  'clock-skew': 2,
  'disk-full': 2,
  'host-offline': 1.5,
};

export interface FaultTally {
  /** Faults started, by kind. */
  injected: Record<string, number>;
  /** What each ended as (`kind: outcome` → count), e.g. whether an armed crash point was reached. */
  outcomes: Record<string, number>;
}

export class FaultInjector {
  private readonly busy = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private next = 0;
  readonly tally: FaultTally = { injected: {}, outcomes: {} };

  constructor(
    private readonly ctx: FaultContext,
    private readonly random: Random,
    private readonly weights: Readonly<Record<FaultKind, number>> = DEFAULT_WEIGHTS,
  ) {}

  /** Starts `count` faults now (fewer when every target of the kinds drawn is busy). */
  inject(count: number): number {
    let started = 0;
    for (let i = 0; i < count; i++) {
      const chosen = this.choose();
      if (!chosen) continue;
      started += 1;
      const run = this.run(chosen.fault, chosen.target).finally(() => this.running.delete(run));
      this.running.add(run);
    }
    return started;
  }

  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private choose(): { fault: FaultModule; target: string } | null {
    for (let attempt = 0; attempt < 8; attempt++) {
      const kind = this.random.weighted(this.weights);
      const fault = FAULTS.find((f) => f.kind === kind)!;
      const targets =
        fault.scope === 'host' || fault.scope === 'queue'
          ? this.ctx.stack.hosts.map((h) => `${fault.scope}:${h}`)
          : [fault.scope];
      const free = targets.filter((t) => !this.busy.has(t));
      if (free.length > 0) return { fault, target: this.random.pick(free) };
    }
    return null;
  }

  private async run(fault: FaultModule, target: string): Promise<void> {
    this.busy.add(target);
    const faultId = `f${++this.next}`;
    const name = target.replace(/^(host|queue):/, '');
    const random = this.random.fork(faultId);
    this.tally.injected[fault.kind] = (this.tally.injected[fault.kind] ?? 0) + 1;
    this.ctx.recorder.record({ kind: 'fault', faultId, fault: fault.kind, target: name, edge: 'start' });
    let outcome: string;
    try {
      const active = await fault.start(this.ctx, name, random);
      await delay(active.holdMs);
      outcome = await active.end();
    } catch (error) {
      // Usually a queue call while storage is down; the digits (ports, counts) are left out.
      outcome = `error: ${(error as Error).message.slice(0, 60).replace(/\d+/g, 'N')}`;
    }
    this.ctx.recorder.record({ kind: 'fault', faultId, fault: fault.kind, target: name, edge: 'end' });
    const key = `${fault.kind}: ${outcome}`;
    this.tally.outcomes[key] = (this.tally.outcomes[key] ?? 0) + 1;
    this.busy.delete(target);
  }
}
