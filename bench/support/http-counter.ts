/**
 * Counts storage requests at the client side, without touching product code: every HTTP request
 * the Azure SDK clients of this process send goes through node:http, which publishes it on the
 * `http.client.request.start` diagnostics channel. Each request is classified by the endpoint
 * it goes to (queue or table emulator port) and by what it does, and attributed to the party
 * that makes that kind of request in this system:
 *
 * - agent: receive / update (keep invisible) / delete on its own `h-…` queue, send to
 *   `ccs-reports` (and to `h-…-poison`);
 * - api:   everything else (table reads and writes, commands sent to `h-…` queues, queue
 *   creation, receive and delete on `ccs-reports`). Point reads, writes and queries of the
 *   tables reports are folded into name the table (`api.table.write.ccshosts`); a
 *   transaction is `api.table.batch` whatever it writes.
 *
 * Nothing else in the system sends those requests, so the attribution is exact whichever
 * process runs which party.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

export type Party = 'agent' | 'api';

export interface StorageEndpoints {
  queuePort: number;
  tablePort: number;
  /** The local Key Vault: its requests count as `kv.<op>.<secret>` (no party: the process tells). */
  kvPort?: number;
}

/** `party.service.operation` → count, e.g. `agent.queue.receive`, `api.table.query`. */
export type Counts = Record<string, number>;

const CHANNEL = 'http.client.request.start';

function portOf(request: ClientRequest): number {
  const host = request.getHeader('host');
  const match = /:(\d+)$/.exec(typeof host === 'string' ? host : '');
  return match ? Number(match[1]) : 0;
}

/** The queue/table request → `party.service.operation`, or null for other endpoints. */
export function classify(
  endpoints: StorageEndpoints,
  port: number,
  method: string,
  rawPath: string,
  authorized = true,
): string | null {
  const [path = ''] = rawPath.split('?', 1);
  const query = rawPath.slice(path.length);
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  // segments[0] is the account (devstoreaccount1).
  if (port === endpoints.queuePort) {
    const queue = segments[1] ?? '';
    const isMessages = segments[2] === 'messages';
    const messageId = segments[3];
    const commandQueue = queue.startsWith('h-') && !queue.endsWith('-poison');
    let op: string;
    if (!isMessages) op = method === 'PUT' ? 'create' : method === 'DELETE' ? 'drop' : 'metadata';
    else if (method === 'GET') op = /peekonly=true/i.test(query) ? 'peek' : 'receive';
    else if (method === 'POST') op = 'send';
    else if (method === 'DELETE') op = messageId ? 'delete' : 'clear';
    else if (method === 'PUT') op = 'update';
    else op = method.toLowerCase();
    const agent =
      (commandQueue && (op === 'receive' || op === 'update' || op === 'delete')) ||
      (op === 'send' && (queue === 'ccs-reports' || queue.endsWith('-poison')));
    return `${agent ? 'agent' : 'api'}.queue.${op}`;
  }
  if (port === endpoints.tablePort) {
    const target = segments[1] ?? '';
    let op: string;
    if (target === 'Tables' || target.startsWith('Tables(')) op = 'table-admin';
    else if (method === 'GET') op = /\(.+\)$/.test(target) ? 'read' : 'query';
    else if (method === 'POST') op = target.startsWith('$batch') ? 'batch' : 'insert';
    else if (method === 'DELETE') op = 'delete';
    else op = 'write'; // PUT / MERGE / PATCH: upsert or conditional update
    // Which table, for the rows reports are folded into (hosts, operations): `api.table.read.ccshosts`.
    const name = /^(ccshosts|ccsoperations)\b/.exec(target)?.[1];
    return `api.table.${op}${name ? `.${name}` : ''}`;
  }
  if (endpoints.kvPort !== undefined && port === endpoints.kvPort) {
    // The SDK's first request of a client carries no token: the vault's challenge, not a read.
    if (!authorized) return 'kv.challenge';
    if (segments[0] !== 'secrets' || !segments[1]) return `kv.${method.toLowerCase()}.other`;
    const op = method === 'GET' ? 'read' : method === 'PUT' ? 'write' : method.toLowerCase();
    // ccs-<id>-identity-password → identity-password; other names (the signing key) as they are.
    const kind = /-(identity-password|private-key-password)$/.exec(segments[1])?.[1] ?? segments[1];
    return `kv.${op}.${kind}`;
  }
  return null;
}

export interface HttpCounter {
  snapshot(): Counts;
  reset(): void;
  stop(): void;
}

/** Counts this process's storage requests until `stop()`. */
export function countStorageRequests(endpoints: StorageEndpoints): HttpCounter {
  let counts: Counts = {};
  const listener = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    const key = classify(
      endpoints,
      portOf(request),
      request.method,
      request.path,
      request.hasHeader('authorization'),
    );
    if (key) counts[key] = (counts[key] ?? 0) + 1;
  };
  subscribe(CHANNEL, listener);
  return {
    snapshot: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    stop: () => {
      unsubscribe(CHANNEL, listener);
    },
  };
}

/** b − a, key by key (keys absent from a count as 0). */
export function diffCounts(after: Counts, before: Counts): Counts {
  const out: Counts = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta !== 0) out[key] = delta;
  }
  return out;
}

/** Sum of the counts whose key starts with `prefix` (`agent.`, `api.table.`…). */
export function total(counts: Counts, prefix = ''): number {
  let sum = 0;
  for (const [key, value] of Object.entries(counts)) if (key.startsWith(prefix)) sum += value;
  return sum;
}

export function addCounts(...all: Counts[]): Counts {
  const out: Counts = {};
  for (const counts of all) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v;
  return out;
}
