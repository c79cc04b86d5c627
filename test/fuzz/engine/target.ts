/**
 * What a fuzz target is. `run` feeds one input to the parser the way the system does and throws
 * only on a finding: an error the parser must never raise (anything but its own refusal), or a
 * property of the result that does not hold. Refusals of bad input are the expected outcome.
 */
import type { MutationContext } from './mutator.js';

export interface FuzzTarget {
  /** `--target` name; also the folder of its committed corpus (test/fuzz/corpus/<name>). */
  readonly name: string;
  readonly description: string;
  /** Inputs taken from the test fixtures: where every run starts. */
  seeds(): Buffer[];
  /** Feeds one input; throws only on a finding. */
  run(input: Buffer): void;
  /**
   * Which loaded scripts count for coverage: a URL (file://…) containing one of these. Only the
   * parser's own code (and what it delegates parsing to) should steer the fuzzer.
   */
  readonly coverage: readonly string[];
  /** Longest input the mutator makes. */
  readonly maxLength: number;
  /** Tokens the mutator splices in. */
  readonly dictionary?: readonly Buffer[];
  /** A structure-aware mutation, used for half of the inputs when present. */
  mutate?(input: Buffer, ctx: MutationContext): Buffer;
}

/** A finding: `run` threw something it must not. Carries what it was about for the report. */
export class FuzzFinding extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FuzzFinding';
  }
}

/** Runs `fn` and turns every error that `expected` does not accept into a finding. */
export function expectOnly(expected: (error: unknown) => boolean, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof FuzzFinding || !expected(error)) {
      throw error instanceof FuzzFinding ? error : new FuzzFinding(describeError(error), { cause: error });
    }
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `thrown non-error: ${String(error)}`;
}
