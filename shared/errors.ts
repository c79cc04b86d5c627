/**
 * Domain errors: a stable code, the field at fault and an HTTP-neutral kind. The one mapper at
 * the edge (functions/http/respond.ts) turns them into IIS Administration–shaped responses.
 * Messages never carry secret values: callers pass field names, never the values.
 */
export type ErrorKind =
  | 'invalid' // 400 Invalid parameter
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'conflict' // 409
  | 'precondition' // 412
  | 'too-large' // 413
  | 'unsupported-media' // 415
  | 'unavailable'; // 503 from a dependency — never from input

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** Extra members of the error body (snake_case, never a secret), e.g. the sites of a 409. */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** A conditional write lost to another writer (a stale ETag); 412 if it ever reaches a caller. */
export class ConcurrencyError extends DomainError {
  constructor() {
    super('precondition', 'ConcurrentUpdate', 'The resource was changed by another request');
  }
}

export const invalid = (field: string, detail: string): DomainError =>
  new DomainError('invalid', 'InvalidParameter', detail, field);

export const forbiddenPath = (field = 'path'): DomainError =>
  new DomainError('forbidden', 'Forbidden', 'The path is outside the allowed locations', field);

export const notFound = (name: string, detail: string, code = 'NotFound'): DomainError =>
  new DomainError('not-found', code, detail, name);

/** Normalise anything thrown into an Error, so handlers never crash on a thrown string. */
export function ensureError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : 'Unknown error');
}
