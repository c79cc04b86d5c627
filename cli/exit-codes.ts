/**
 * `ccs` exit codes (README, "The ccs command line"): scripts tell apart a change the hosts
 * refused from a typo, a missing credential and an API that is down.
 */
import type { FailureKind } from '../client/errors.js';

export const EXIT = {
  ok: 0,
  /** The operation ran and failed: a host refused the change in preflight, or apply failed. */
  operationFailed: 1,
  /** Bad arguments, or the API refused the input (400, 404, 409, 412…), naming the field. */
  invalidInput: 2,
  /** No credentials, a token the API refuses (401), or a role that may not do this (403). */
  auth: 3,
  /** The API cannot be reached, or answers 5xx. */
  unreachable: 4,
} as const;

export const EXIT_BY_KIND: Record<FailureKind, number> = {
  operation: EXIT.operationFailed,
  invalid: EXIT.invalidInput,
  auth: EXIT.auth,
  unreachable: EXIT.unreachable,
};

/** A failure `ccs` itself detects (before or without the API), with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly advice = '',
  ) {
    super(message);
    this.name = 'CliError';
  }
}
