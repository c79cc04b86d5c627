/**
 * The coverage-guided loop (runs inside the fuzzing worker): take a corpus entry, mutate it, run
 * the target, keep the input when it reached a new feature, report findings. Before each
 * execution the input is copied into shared memory so that the parent can save it when this
 * thread hangs or runs out of memory (it cannot say so itself then).
 */
import type { CoverageProbe } from './coverage.js';
import { mutateBytes, type MutationContext } from './mutator.js';
import { Random } from './random.js';
import { FuzzFinding, describeError, type FuzzTarget } from './target.js';

/** Shared memory between the worker and its parent: [executions, input length] + input bytes. */
export class SharedInput {
  readonly header: Int32Array;
  readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, 2);
    this.bytes = new Uint8Array(buffer, 8);
  }

  static create(maxLength: number): SharedInput {
    return new SharedInput(new SharedArrayBuffer(8 + maxLength));
  }

  store(input: Buffer): void {
    this.bytes.set(input.subarray(0, this.bytes.length));
    Atomics.store(this.header, 1, Math.min(input.length, this.bytes.length));
    Atomics.add(this.header, 0, 1);
  }

  get executions(): number {
    return Atomics.load(this.header, 0);
  }

  /** The input being (or last) executed. */
  current(): Buffer {
    return Buffer.from(this.bytes.subarray(0, Atomics.load(this.header, 1)));
  }
}

export type LoopEvent =
  | { kind: 'input'; input: Buffer }
  | { kind: 'finding'; input: Buffer; signature: string; detail: string }
  | { kind: 'stats'; executions: number; blocks: number; features: number; corpus: number };

export interface LoopOptions {
  readonly target: FuzzTarget;
  /** Started before the target's code was loaded (see CoverageProbe). */
  readonly probe: CoverageProbe;
  readonly corpus: readonly Buffer[];
  readonly seed: number;
  readonly stopAt: number;
  /** Stop after this many mutated inputs too (deterministic runs in tests). */
  readonly maxExecutions?: number;
  /** Stop at the first finding (libFuzzer's default; campaigns go on to find more). */
  readonly stopOnFinding?: boolean;
  readonly shared: SharedInput;
  readonly emit: (event: LoopEvent) => void;
  readonly statsEveryMs?: number;
}

/** The first stack frame in our own code: findings with the same message and frame are one. */
export function findingSignature(error: unknown): string {
  const cause = error instanceof FuzzFinding && error.cause !== undefined ? error.cause : error;
  const frame =
    cause instanceof Error
      ? (cause.stack ?? '')
          .split('\n')
          .find((l) => /\/(shared|agent|test)\//.test(l) && !l.includes('/fuzz/'))
      : undefined;
  const where = frame?.replace(/^.*\/((?:shared|agent|test)\/[^:)]+:\d+).*$/, '$1') ?? '?';
  return `${describeError(cause).split('\n')[0]!.slice(0, 200)} @ ${where}`;
}

function runOnce(target: FuzzTarget, input: Buffer): unknown {
  try {
    target.run(input);
    return undefined;
  } catch (error) {
    return error ?? new Error('undefined thrown');
  }
}

/** Shrinks a finding's input while it keeps failing the same way (erasing chunks, halving). */
export function minimiseFinding(target: FuzzTarget, input: Buffer, signature: string, budget = 2000): Buffer {
  let best = input;
  let tries = 0;
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1 && tries < budget; chunk >>= 1) {
    for (let at = 0; at < best.length && tries < budget; tries++) {
      const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + chunk)]);
      const error = runOnce(target, candidate);
      if (error !== undefined && findingSignature(error) === signature) best = candidate;
      else at += chunk;
    }
  }
  return best;
}

export function fuzzLoop(options: LoopOptions): void {
  const { target, shared, emit } = options;
  const random = new Random(options.seed);
  const probe = options.probe;
  probe.setScope(target.coverage);
  const seen = new Set<number>();
  const signatures = new Set<string>();
  const corpus: Buffer[] = [];
  const recent: Buffer[] = [];
  const context: MutationContext = {
    random,
    maxLength: target.maxLength,
    dictionary: target.dictionary ?? [],
    other: () => random.pick(corpus),
  };

  let found = false;
  const execute = (input: Buffer): boolean => {
    // Between two executions only the mutator runs, and it is outside the coverage scope: the
    // counters that the previous take() reset belong to this input alone.
    shared.store(input);
    const error = runOnce(target, input);
    let fresh = false;
    for (const feature of probe.take()) {
      if (!seen.has(feature)) {
        seen.add(feature);
        fresh = true;
      }
    }
    if (error !== undefined) {
      const signature = findingSignature(error);
      if (!signatures.has(signature)) {
        signatures.add(signature);
        const small = minimiseFinding(target, input, signature);
        probe.take(); // the minimisation's runs are no input's coverage
        const detail = error instanceof Error ? (error.stack ?? describeError(error)) : describeError(error);
        emit({ kind: 'finding', input: small, signature, detail });
        found = true;
      }
      return false; // a failing input does not join the corpus
    }
    return fresh;
  };

  probe.take(); // whatever ran while loading
  for (const input of options.corpus) if (execute(input) || corpus.length === 0) corpus.push(input);
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));

  let executions = 0;
  const emitStats = (): void =>
    emit({ kind: 'stats', executions, blocks: probe.blocksSeen, features: seen.size, corpus: corpus.length });
  let lastStats = Date.now();
  const statsEvery = options.statsEveryMs ?? 5000;
  const maxExecutions = options.maxExecutions ?? Number.POSITIVE_INFINITY;
  while (Date.now() < options.stopAt && executions < maxExecutions && !(found && options.stopOnFinding)) {
    const base = recent.length > 0 && random.oneIn(3) ? random.pick(recent) : random.pick(corpus);
    const input =
      target.mutate && random.oneIn(2) ? target.mutate(base, context) : mutateBytes(base, context);
    executions++;
    if (execute(input)) {
      corpus.push(input);
      recent.push(input);
      if (recent.length > 32) recent.shift();
      emit({ kind: 'input', input });
    }
    if (Date.now() - lastStats >= statsEvery) {
      lastStats = Date.now();
      emitStats();
    }
  }
  emitStats();
}
