/**
 * Azurite, the real storage emulator, for queues and tables. Two ways to run it:
 * - `startAzuriteInProcess` (tests): servers in this process, in memory, ephemeral ports.
 * - `spawnAzurite` (the local stack): the Azurite CLIs as child processes with data on disk,
 *   so a restart of the stack loses nothing, which end when the stack ends.
 * Both give the same connection string shape (Azurite's well-known development account).
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnWatched } from './children.js';

const require = createRequire(import.meta.url);

/** Azurite's published development account (not a secret: it is the same on every machine). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteEndpoints {
  queuePort: number;
  tablePort: number;
  connectionString: string;
  close(): Promise<void>;
}

export function connectionStringFor(queuePort: number, tablePort: number, host = '127.0.0.1'): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${DEV_ACCOUNT}`,
    `AccountKey=${DEV_KEY}`,
    `QueueEndpoint=http://${host}:${queuePort}/${DEV_ACCOUNT}`,
    `TableEndpoint=http://${host}:${tablePort}/${DEV_ACCOUNT}`,
  ].join(';');
}

/** An Azurite server object, started and stopped in this process (Azurite's own classes). */
export interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerCtor = new (config: unknown) => AzuriteServer;
type ConfigCtor = new (...args: unknown[]) => unknown;

function load<T>(path: string): T {
  return (require(`azurite/dist/src/${path}`) as { default: T }).default;
}

export function portOf(server: AzuriteServer): number {
  return Number(new URL(server.getHttpServerAddress()).port);
}

// Positional arguments of Azurite's configuration classes: host, port (0: ephemeral),
// keep-alive, db paths, persistence, access log off, debug log off, loose off, skip API version
// check on, no TLS, no OAuth, product-style URLs kept, in-memory persistence on.

/** An in-memory Azurite queue server on an ephemeral port of 127.0.0.1 (not started). */
export function inMemoryQueueServer(): AzuriteServer {
  const QueueConfiguration = load<ConfigCtor>('queue/QueueConfiguration');
  const QueueServer = load<ServerCtor>('queue/QueueServer');
  return new QueueServer(
    new QueueConfiguration(
      '127.0.0.1',
      0,
      undefined,
      'queue-db',
      'queue-extent-db',
      [{ locationId: 'Default', locationPath: 'queue-data', maxConcurrency: 1 }],
      false,
      undefined,
      false,
      undefined,
      false,
      true,
      '',
      '',
      '',
      undefined,
      false,
      true,
    ),
  );
}

/** An in-memory Azurite table server on an ephemeral port of 127.0.0.1 (not started). */
export function inMemoryTableServer(): AzuriteServer {
  const TableConfiguration = load<ConfigCtor>('table/TableConfiguration');
  const TableServer = load<ServerCtor>('table/TableServer');
  return new TableServer(
    new TableConfiguration(
      '127.0.0.1',
      0,
      undefined,
      'table-db',
      false,
      false,
      undefined,
      undefined,
      false,
      true,
      '',
      '',
      '',
      undefined,
      false,
      true,
    ),
  );
}

/** In-memory Azurite queue + table servers inside this process, on ephemeral ports. */
export async function startAzuriteInProcess(): Promise<AzuriteEndpoints> {
  const queue = inMemoryQueueServer();
  const table = inMemoryTableServer();
  await Promise.all([queue.start(), table.start()]);
  const queuePort = portOf(queue);
  const tablePort = portOf(table);
  return {
    queuePort,
    tablePort,
    connectionString: connectionStringFor(queuePort, tablePort),
    async close() {
      await Promise.all([queue.close(), table.close()]);
      await Promise.all([queue.clean(), table.clean()]);
    },
  };
}

export interface SpawnedAzurite extends AzuriteEndpoints {
  processes: ChildProcess[];
}

/**
 * What each Azurite CLI prints once it listens (azurite 3.35.0: dist/src/queue/main.js,
 * dist/src/table/main.js, also with --silent, which only turns off the access log). Waiting for
 * this line rather than for the port to accept connections means another program that holds the
 * port is never mistaken for Azurite.
 */
const LISTENING = /Azurite (Queue|Table) service successfully (listens|started) on/;

/**
 * Azurite's queue and table CLIs as child processes, persisting under `location`. They stop when
 * this process ends, however it ends (local/lifeline.mjs). Rejects — after stopping whatever it
 * started — when either does not come up; a taken port rejects with `code: 'EADDRINUSE'` and the
 * `port`, as Node's own listen errors do.
 */
export async function spawnAzurite(opts: {
  location: string;
  queuePort: number;
  tablePort: number;
  logFile: string;
  /** How long the servers may take to listen (default 15 s). */
  startTimeoutMs?: number;
}): Promise<SpawnedAzurite> {
  mkdirSync(opts.location, { recursive: true });
  const log = openSync(opts.logFile, 'a');
  const timeout = opts.startTimeoutMs ?? 15_000;
  const services = (['queue', 'table'] as const).map((service) =>
    startService(service, service === 'queue' ? opts.queuePort : opts.tablePort, opts.location, log),
  );
  try {
    await Promise.all(services.map((s) => s.listening(timeout)));
  } catch (error) {
    // Do not leave half-started emulators behind (they would hold the ports and the data folder).
    await Promise.all(services.map((s) => s.child.stop(0)));
    throw error;
  } finally {
    // The output handlers keep writing to the log until both children's output has ended.
    void Promise.all(services.map((s) => s.closed)).then(() => closeSync(log));
  }
  return {
    processes: services.map((s) => s.child.process),
    queuePort: opts.queuePort,
    tablePort: opts.tablePort,
    connectionString: connectionStringFor(opts.queuePort, opts.tablePort),
    async close() {
      // A graceful stop (the table service flushes its database), then a kill after 10 s.
      await Promise.all(services.map((s) => s.child.stop(10_000)));
    },
  };
}

function startService(service: 'queue' | 'table', port: number, location: string, log: number) {
  const child = spawnWatched(
    require.resolve(`azurite/dist/src/${service}/main.js`),
    [
      '--location',
      location,
      `--${service}Port`,
      String(port),
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--silent',
    ],
    { output: 'pipe' },
  );
  let output = '';
  let listening = false;
  // 'close' comes after the child's last output, unlike 'exit'.
  const closed = new Promise<void>((resolve) => child.process.once('close', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const onOutput = (chunk: Buffer) => {
      writeSync(log, chunk);
      if (listening) return;
      output = (output + chunk.toString()).slice(-4096);
      if (LISTENING.test(output)) {
        listening = true;
        resolve();
      }
    };
    child.process.stdout?.on('data', onOutput);
    child.process.stderr?.on('data', onOutput);
    void closed.then(() => {
      if (listening) return;
      const last = output.trim().split('\n').pop() ?? '';
      const error = Object.assign(
        new Error(`Azurite's ${service} service exited before listening on port ${port}: ${last}`),
        /EADDRINUSE/.test(output) ? { code: 'EADDRINUSE', port } : {},
      );
      reject(error);
    });
  });
  return {
    child,
    closed,
    listening: (timeoutMs: number) =>
      Promise.race([
        ready,
        delay(timeoutMs, undefined, { ref: false }).then(() => {
          if (!listening)
            throw new Error(
              `Azurite's ${service} service did not listen on port ${port} within ${timeoutMs / 1000} s`,
            );
        }),
      ]),
  };
}
