/**
 * Azurite in a process of its own (argv[2]: `queue` or `table`), in memory, with the settings
 * of the tests' `startAzuriteInProcess` (local/azurite.ts), so the emulator's CPU does not
 * compete with the code under measurement on one event loop.
 *
 * `queue <shards>` runs that many Azurite queue servers behind one port and routes every
 * request by queue name (a hash) to one of them, handing the request to that server's own
 * request listener (no extra network hop). Why: Azurite keeps the messages of all queues in
 * one LokiJS collection and scans it on every queue request, so its cost per request grows
 * with the number of messages stored in the whole emulator — a 1,000-host change stores
 * ~1,000 at once, and a single emulator then spends its time scanning them. The real service
 * keeps each queue on its own partition; shards by queue name model that. `queue 1` is plain
 * Azurite.
 *
 * A third argument, JSON `QueueThrottleOptions`, puts Queue Storage's documented scalability
 * targets in front of the shards (bench/support/queue-throttle.ts): a request over a queue's or
 * the account's rate is answered 503 ServerBusy, as Azure answers it, and counted (`throttle`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  inMemoryQueueServer as queueServer,
  inMemoryTableServer as tableServer,
  portOf,
  type AzuriteServer,
} from '../../local/azurite.js';
import { rssSampler, serveParent } from './child.js';
import { admitRequest, QueueThrottle, type QueueThrottleOptions } from './queue-throttle.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** FNV-1a of the queue name (the path's second segment), modulo the shard count. */
export function shardOf(url: string, shards: number): number {
  const queue = url.split('?', 1)[0]!.split('/')[2] ?? '';
  let h = 0x811c9dc5;
  for (let i = 0; i < queue.length; i++) h = Math.imul(h ^ queue.charCodeAt(i), 0x01000193) >>> 0;
  return h % shards;
}

// `both`: the queue servers and the table server in this one process (fewer processes to start).
const service = process.argv[2] === 'table' ? 'table' : process.argv[2] === 'both' ? 'both' : 'queue';
const shardCount = Math.max(1, Number(process.argv[3] ?? 1));
const throttle = process.argv[4]
  ? new QueueThrottle(JSON.parse(process.argv[4]) as QueueThrottleOptions)
  : undefined;
const servers: AzuriteServer[] = [];
let table: AzuriteServer | undefined;
let front: Server | undefined;
const rss = rssSampler();

serveParent(
  async () => {
    if (service !== 'queue') table = tableServer();
    if (service !== 'table') for (let i = 0; i < shardCount; i++) servers.push(queueServer());
    await Promise.all([...servers, ...(table ? [table] : [])].map((s) => s.start()));
    let port = servers[0] ? portOf(servers[0]) : 0;
    if (servers.length > 0 && (shardCount > 1 || throttle)) {
      const listeners = servers.map(
        (s) => (s as unknown as { httpServer: Server }).httpServer.listeners('request')[0] as Listener,
      );
      front = createServer((req, res) => {
        if (throttle && !admitRequest(throttle, req, res)) return;
        listeners[shardOf(req.url ?? '/', shardCount)]!(req, res);
      });
      front.keepAliveTimeout = 30_000;
      await new Promise<void>((done) => front!.listen(0, '127.0.0.1', done));
      port = (front.address() as AddressInfo).port;
    }
    const tablePort = table ? portOf(table) : 0;
    return {
      /** The queue port (the table port for `table`). */
      port: () => (service === 'table' ? tablePort : port),
      tablePort: () => tablePort,
      rss: () => ({ peak: rss.peak(), now: process.memoryUsage.rss() }),
      resetRss: () => rss.reset(),
      cpu: () => process.cpuUsage(),
      /** The queue throttle's counts (null when no limits are enforced). */
      throttle: () => throttle?.snapshot() ?? null,
    };
  },
  async () => {
    if (front) {
      front.closeAllConnections();
      await new Promise<void>((done) => front!.close(() => done()));
    }
    const all = [...servers, ...(table ? [table] : [])];
    await Promise.all(all.map((s) => s.close()));
    await Promise.all(all.map((s) => s.clean()));
  },
);
