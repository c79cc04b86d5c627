/**
 * The API's errors as values: `{ title, name, detail, status }` (IIS Administration's shape; `name`
 * is the field at fault) plus the `x-ms-error-code` header, and what kind of failure each is, so
 * the console and `ccs` say what went wrong and what to do in the API's own words.
 */
import type { Schemas } from './types.js';

export type ErrorBody = Schemas['Error'];

/** How a failure is told apart (and, for `ccs`, which exit code it gets). */
export type FailureKind = 'operation' | 'invalid' | 'auth' | 'unreachable';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | null,
    readonly code: string | null,
    /** Set when the failure is an operation's outcome (the hosts refused or failed the change). */
    readonly operationId: string | null = null,
  ) {
    super(describeBody(status, body, code));
    this.name = 'ApiError';
  }

  get kind(): FailureKind {
    if (this.operationId !== null) return 'operation';
    // A 403 naming a field (`path` outside the allowed locations) is about the input, not the caller.
    if (this.status === 401 || (this.status === 403 && (this.field === null || this.field === 'role')))
      return 'auth';
    if (this.status >= 500) return 'unreachable';
    return 'invalid';
  }

  /** The field at fault, when the API named one. */
  get field(): string | null {
    return this.body?.name ?? null;
  }
}

/** The API could not be reached at all (connection refused, DNS, TLS, a proxy's non-JSON page). */
export class UnreachableError extends Error {
  readonly kind: FailureKind = 'unreachable';
  constructor(api: string, cause: unknown) {
    super(`The API at ${api} cannot be reached (${cause instanceof Error ? cause.message : String(cause)})`);
    this.name = 'UnreachableError';
  }
}

function describeBody(status: number, body: ErrorBody | null, code: string | null): string {
  if (!body) return `HTTP ${status}${code ? ` (${code})` : ''}`;
  const field = body.name ? `${body.name}: ` : '';
  return `${field}${body.detail}${code ? ` (${code})` : ''}`;
}

const isErrorBody = (value: unknown): value is ErrorBody =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ErrorBody).detail === 'string' &&
  typeof (value as ErrorBody).status === 'number';

/** The ApiError of a response that is not a success (any JSON body that is not the error shape counts as none). */
export function apiError(response: Response, body: unknown): ApiError {
  const location = response.headers.get('Operation-Location');
  return new ApiError(
    response.status,
    isErrorBody(body) ? body : null,
    response.headers.get('x-ms-error-code'),
    location ? operationIdOf(location) : null,
  );
}

/** `/api/operations/<id>` → `<id>`. */
export function operationIdOf(location: string): string {
  return location.replace(/\/+$/, '').split('/').pop() ?? location;
}

/** What to do about an error, for a person: the API's words plus the next step. */
export function adviceFor(error: ApiError): string {
  if (error.status === 401) return 'Sign in again: the token is missing, wrong or expired.';
  if (error.status === 403 && error.field === 'role')
    return 'This needs the write role; ask for a token or an Entra app role (CCS.Write) that has it.';
  if (error.status === 412) return 'Someone changed it since you read it; read it again and retry.';
  if (error.status === 503) return 'The service is unavailable; retry in a few seconds.';
  if (error.field) return `Correct "${error.field}" and try again.`;
  return '';
}
