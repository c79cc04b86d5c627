/**
 * The soak's callers: HTTP requests to the real API (the local host on the Function App's
 * handlers), each recorded with its answer in the history. Secret values in a request body are
 * replaced before it is recorded (the caller sent them on purpose); answers are recorded as they
 * came, so a secret the API gives back is found by invariant 6.
 */
import type { FaultStack } from '../hardening/support/fault-stack.js';
import type { HistoryRecorder } from './history.js';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: unknown;
  operationId: string | null;
}

/** Every response that was not what the OpenAPI document says (the validator threw). */
export interface ContractBreach {
  requestId: string;
  error: string;
}

export class SoakApi {
  private next = 0;
  readonly breaches: ContractBreach[] = [];
  /** GETs sent again after their connection failed (see `send`). */
  readonly retriedGets: ContractBreach[] = [];

  constructor(
    private readonly stack: FaultStack,
    private readonly recorder: HistoryRecorder,
    private readonly secrets: () => readonly string[],
  ) {}

  async call(
    caller: string,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    options: { body?: unknown; ifMatch?: string; record?: boolean } = {},
  ): Promise<ApiAnswer> {
    const requestId = `r${++this.next}`;
    const record = options.record ?? true;
    if (record) {
      this.recorder.record({
        kind: 'request',
        requestId,
        caller,
        method,
        path,
        ifMatch: options.ifMatch ?? null,
        body: options.body === undefined ? null : this.redact(options.body),
      });
    }
    let answer: ApiAnswer;
    try {
      const res = await this.send(requestId, method, path, options);
      const location = res.headers.get('operation-location');
      let body: unknown = null;
      try {
        body = res.text ? (JSON.parse(res.text) as unknown) : null;
      } catch {
        body = res.text;
      }
      answer = {
        status: res.status,
        headers: res.headers,
        body,
        operationId: location ? (location.split('/').pop() ?? null) : null,
      };
    } catch (error) {
      // The OpenAPI validator throws on an answer the document does not describe.
      const message = error instanceof Error ? error.message : String(error);
      this.breaches.push({ requestId, error: message.slice(0, 2000) });
      answer = { status: -1, headers: new Headers(), body: null, operationId: null };
    }
    if (record) {
      this.recorder.record({
        kind: 'response',
        requestId,
        status: answer.status,
        retryAfter: answer.headers.get('retry-after'),
        operationId: answer.operationId,
        // As answered: a secret in a response is exactly what invariant 6 must find.
        body: answer.body,
      });
    }
    return answer;
  }

  /**
   * One request; a GET whose connection failed before any answer is sent again once, as HTTP
   * clients retry idempotent requests (RFC 9110 §9.2.2) — under load a kept-alive socket can be
   * closed by the server as the client reuses it. Each retry is counted; a write is never resent.
   */
  private async send(
    requestId: string,
    method: string,
    path: string,
    options: { body?: unknown; ifMatch?: string },
  ): ReturnType<FaultStack['request']> {
    const headers: Record<string, string> = options.ifMatch ? { 'If-Match': options.ifMatch } : {};
    const init = { body: options.body, headers };
    try {
      return await this.stack.request(method, path, init);
    } catch (error) {
      if (method !== 'GET' || !(error instanceof TypeError)) throw error;
      this.retriedGets.push({ requestId, error: `${error.message}: ${String(error.cause)}`.slice(0, 300) });
      return this.stack.request(method, path, init);
    }
  }

  /** A request body with every secret value the caller sent replaced. */
  private redact(value: unknown): unknown {
    let text = JSON.stringify(value ?? null);
    for (const secret of this.secrets()) {
      if (secret) text = text.split(JSON.stringify(secret).slice(1, -1)).join('{secret}');
    }
    return JSON.parse(text) as unknown;
  }
}
