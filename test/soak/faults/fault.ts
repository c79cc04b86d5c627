/**
 * One kind of fault the soak injects: where it can act, how it starts, how long it holds and
 * how it ends. Each kind lives in its own module beside this one and follows how the real
 * system fails (its source is named there).
 */
import type { FaultStack } from '../../hardening/support/fault-stack.js';
import type { FaultKind, HistoryRecorder } from '../history.js';
import type { Random } from '../random.js';

export interface FaultContext {
  readonly stack: FaultStack;
  readonly recorder: HistoryRecorder;
  readonly preflightTimeoutSeconds: number;
  /** The folder the agent preload reads a host's clock skew and full-disk switch from. */
  hostFaultDir(host: string): string;
  /** Recent command message texts the API sent to a host (for late duplicates). */
  sentCommands(host: string): readonly string[];
}

/** A fault that has started: it holds for `holdMs`, then `end` undoes it. */
export interface ActiveFault {
  readonly holdMs: number;
  /** Ends the fault; resolves to what it did (for the figures), e.g. `fired`, `no-message`. */
  end(): Promise<string>;
}

export interface FaultModule {
  readonly kind: FaultKind;
  /** `host` faults take a host at a time; a service fault takes the whole service. */
  readonly scope: 'host' | 'storage' | 'keyvault' | 'queue';
  start(ctx: FaultContext, target: string, random: Random): Promise<ActiveFault>;
}
