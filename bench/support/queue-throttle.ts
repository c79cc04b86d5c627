/**
 * Azure Queue Storage's documented scalability targets, enforced in front of the benchmark's
 * Azurite queue servers (bench/support/azurite-child.ts) when asked to.
 *
 * Sources:
 * - "Scalability and performance targets for Queue Storage"
 *   (learn.microsoft.com/azure/storage/queues/scalability-targets): a single queue "up to 2,000
 *   messages per second" (1-KiB messages); a storage account 20,000 messages per second (the
 *   standard account page, …/storage/common/scalability-targets-standard-account, says 20,000
 *   requests per second, for every service of the account together). Over a target the service
 *   "begins to return error code 503 (Server Busy) or error code 500 (Operation Timeout)" and
 *   clients should back off exponentially. No `Retry-After` is documented, and none is sent.
 * - "Performance and scalability checklist for Queue Storage": "each AddMessage, GetMessage,
 *   and DeleteMessage count as a message here" — so every request on a queue's messages counts,
 *   and a receive counts the messages it returns (at least one).
 * - "Common REST API error codes" (learn.microsoft.com/rest/api/storageservices/
 *   common-rest-api-error-codes): `ServerBusy`, 503, "Operations per second is over the account
 *   limit." for the account, "The server is currently unable to receive requests. Please retry
 *   your request." otherwise; the code also in the `x-ms-error-code` header.
 *
 * The window slides over one second. A refused request counts toward nothing (the service
 * sheds it); a receive is admitted when its queue has room and its messages beyond the first
 * are counted when the answer is written, so a burst can overrun a budget by one batch, as a
 * partition server that admits a request before knowing its size would. Only queue requests
 * pass through here: the table service runs in another process, so the account's budget counts
 * queue requests alone (kinder than Azure, where tables spend the same budget; the results
 * record the table requests beside it).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REPORTS_QUEUE } from '../../shared/names.js';

/** The per-second budgets. */
export interface QueueLimits {
  /** Messages per second on one queue (each send, receive — per message returned — update, delete). */
  queueMessagesPerSecond: number;
  /** Queue requests per second on the account. */
  accountRequestsPerSecond: number;
}

export const DOCUMENTED_QUEUE_LIMITS: QueueLimits = {
  queueMessagesPerSecond: 2_000,
  accountRequestsPerSecond: 20_000,
};

export const QUEUE_THROTTLE_WINDOW_MS = 1_000;

export interface QueueThrottleOptions {
  /** Multiplies each documented target (at least 1 each): 0.1 = a tenth of a fleet's account. */
  scale?: number;
  /** Explicit budgets, overriding the documented ones (the smoke test uses tiny ones). */
  limits?: Partial<QueueLimits>;
  windowMs?: number;
  /** Milliseconds since an epoch; a harness clock in unit tests. */
  now?: () => number;
}

export type QueueLimit = 'queue' | 'account';
export type QueueVerdict = { allowed: true } | { allowed: false; limit: QueueLimit };

/** What refusals hit: the single reports queue, the hosts' command queues, or anything else. */
export type QueueKind = 'reports' | 'commands' | 'other';

export interface QueueThrottleStats {
  /** 503s served, by the budget that refused them. */
  refused: Record<QueueLimit, number>;
  /** 503s served, by the kind of queue asked for. */
  refusedByKind: Record<QueueKind, number>;
  admitted: number;
  limits: QueueLimits;
}

export function queueKind(queue: string): QueueKind {
  if (queue === REPORTS_QUEUE) return 'reports';
  return queue.startsWith('h-') && !queue.endsWith('-poison') ? 'commands' : 'other';
}

/** A count over a sliding window: (time, amount) pairs, oldest first, and their sum. */
class SlidingCount {
  private readonly entries: { at: number; n: number }[] = [];
  private sum = 0;
  constructor(private readonly windowMs: number) {}

  total(now: number): number {
    let drop = 0;
    while (drop < this.entries.length && this.entries[drop]!.at + this.windowMs <= now) {
      this.sum -= this.entries[drop]!.n;
      drop++;
    }
    if (drop > 0) this.entries.splice(0, drop);
    return this.sum;
  }

  add(now: number, n: number): void {
    this.entries.push({ at: now, n });
    this.sum += n;
  }
}

export class QueueThrottle {
  readonly limits: QueueLimits;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly account: SlidingCount;
  private readonly queues = new Map<string, SlidingCount>();
  private readonly stats = {
    refused: { queue: 0, account: 0 },
    refusedByKind: { reports: 0, commands: 0, other: 0 },
    admitted: 0,
  };

  constructor(options: QueueThrottleOptions = {}) {
    const scale = options.scale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale))
      throw new Error('queue throttle scale must be a positive number');
    const scaled = (n: number) => Math.max(1, Math.floor(n * scale));
    this.limits = {
      queueMessagesPerSecond:
        options.limits?.queueMessagesPerSecond ?? scaled(DOCUMENTED_QUEUE_LIMITS.queueMessagesPerSecond),
      accountRequestsPerSecond:
        options.limits?.accountRequestsPerSecond ?? scaled(DOCUMENTED_QUEUE_LIMITS.accountRequestsPerSecond),
    };
    this.windowMs = options.windowMs ?? QUEUE_THROTTLE_WINDOW_MS;
    if (!(this.windowMs > 0)) throw new Error('queue throttle windowMs must be positive');
    this.now = options.now ?? Date.now;
    this.account = new SlidingCount(this.windowMs);
  }

  /**
   * Admits one request: to `queue`'s messages when `messages` is true (it then counts on the
   * queue's budget too), or any other queue-service request (create, metadata, list).
   */
  admit(queue: string, messages: boolean): QueueVerdict {
    const now = this.now();
    // Budgets scale with the window so that a shortened window keeps the documented rate.
    const perWindow = (perSecond: number) => Math.max(1, Math.floor((perSecond * this.windowMs) / 1000));
    const window = messages ? this.windowOf(queue) : undefined;
    let limit: QueueLimit | undefined;
    if (window && window.total(now) >= perWindow(this.limits.queueMessagesPerSecond)) limit = 'queue';
    else if (this.account.total(now) >= perWindow(this.limits.accountRequestsPerSecond)) limit = 'account';
    if (limit) {
      this.stats.refused[limit]++;
      this.stats.refusedByKind[queueKind(queue)]++;
      return { allowed: false, limit };
    }
    this.account.add(now, 1);
    window?.add(now, 1);
    this.stats.admitted++;
    return { allowed: true };
  }

  /** Counts the messages a receive returned beyond the one counted when it was admitted. */
  addMessages(queue: string, extra: number): void {
    if (extra > 0) this.windowOf(queue).add(this.now(), extra);
  }

  snapshot(): QueueThrottleStats {
    return {
      refused: { ...this.stats.refused },
      refusedByKind: { ...this.stats.refusedByKind },
      admitted: this.stats.admitted,
      limits: { ...this.limits },
    };
  }

  private windowOf(queue: string): SlidingCount {
    let window = this.queues.get(queue);
    if (!window) this.queues.set(queue, (window = new SlidingCount(this.windowMs)));
    return window;
  }
}

/** `/devstoreaccount1/<queue>/messages[/<id>]?…` → the queue and whether it is a message request. */
export function queueTarget(url: string): { queue: string; messages: boolean; receive: boolean } {
  const segments = url.split('?', 1)[0]!.split('/');
  const messages = segments[3] === 'messages';
  return { queue: decodeURIComponent(segments[2] ?? ''), messages, receive: messages && !segments[4] };
}

/** Writes the 503 the service answers over a target (the body as the REST API's error format). */
export function writeServerBusy(req: IncomingMessage, res: ServerResponse, limit: QueueLimit): void {
  const requestId = randomUUID();
  const message =
    limit === 'account'
      ? 'Operations per second is over the account limit.'
      : 'The server is currently unable to receive requests. Please retry your request.';
  const body =
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>' +
    `<Message>${message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
  const version = req.headers['x-ms-version'];
  res.writeHead(503, 'Service Unavailable', {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-ms-error-code': 'ServerBusy',
    'x-ms-request-id': requestId,
    ...(typeof version === 'string' ? { 'x-ms-version': version } : {}),
  });
  res.end(body);
}

/**
 * Calls `count` with the number of messages a receive's answer holds once it is written
 * (`<QueueMessage>` elements of the Get Messages response body).
 */
export function countReturnedMessages(res: ServerResponse, count: (messages: number) => void): void {
  let found = 0;
  const scan = (chunk: unknown) => {
    if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) {
      const text = chunk.toString();
      for (let i = text.indexOf('<QueueMessage>'); i >= 0; i = text.indexOf('<QueueMessage>', i + 1)) found++;
    }
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    scan(chunk);
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') scan(chunk);
    if (res.statusCode < 300) count(found);
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
}

/**
 * The request listener's guard: true when the request may go on to Azurite; otherwise it has
 * been answered with 503 ServerBusy.
 */
export function admitRequest(throttle: QueueThrottle, req: IncomingMessage, res: ServerResponse): boolean {
  const target = queueTarget(req.url ?? '/');
  const verdict = throttle.admit(target.queue, target.messages);
  if (!verdict.allowed) {
    writeServerBusy(req, res, verdict.limit);
    return false;
  }
  if (target.receive && req.method === 'GET') {
    countReturnedMessages(res, (n) => throttle.addMessages(target.queue, n - 1));
  }
  return true;
}
