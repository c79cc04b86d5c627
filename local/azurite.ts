/**
 * Azurite, the real storage emulator, for queues and tables. Two ways to run it:
 * - `startAzuriteInProcess` (tests): servers in this process, in memory, ephemeral ports.
 * - `spawnAzurite` (the local stack): the Azurite CLIs as child processes with data on disk,
 *   so a restart of the stack loses nothing.
 * Both give the same connection string shape (Azurite's well-known development account).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, openSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'node:net';

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

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await delay(100);
  }
  throw new Error(`Azurite did not listen on port ${port} within ${timeoutMs} ms`);
}

export interface SpawnedAzurite extends AzuriteEndpoints {
  processes: ChildProcess[];
}

/** Azurite's queue and table CLIs as child processes, persisting under `location`. */
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
  const start = (service: 'queue' | 'table', port: number): ChildProcess =>
    spawn(
      process.execPath,
      [
        require.resolve(`azurite/dist/src/${service}/main.js`),
        '--location',
        opts.location,
        `--${service}Port`,
        String(port),
        '--disableTelemetry',
        '--skipApiVersionCheck',
        '--silent',
      ],
      { stdio: ['ignore', log, log] },
    );
  const processes = [start('queue', opts.queuePort), start('table', opts.tablePort)];
  const timeout = opts.startTimeoutMs ?? 15_000;
  try {
    await Promise.all([waitForPort(opts.queuePort, timeout), waitForPort(opts.tablePort, timeout)]);
  } catch (error) {
    // Do not leave half-started emulators behind (they would hold the ports and the data folder).
    for (const child of processes) if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
  return {
    processes,
    queuePort: opts.queuePort,
    tablePort: opts.tablePort,
    connectionString: connectionStringFor(opts.queuePort, opts.tablePort),
    async close() {
      await Promise.all(
        processes.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once('exit', () => resolve());
              // SIGINT: Azurite's table server flushes its database only on SIGINT.
              child.kill('SIGINT');
            }),
        ),
      );
    },
  };
}
