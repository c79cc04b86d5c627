/**
 * The system under measurement, as separate processes: Azurite (queues + tables, in memory) in
 * one, the local Key Vault endpoint in another, the local host (API, report processor, sweeper)
 * in a third, and the
 * benchmark itself (driver, and the agent fleet when there is one) in this one. Plus the demo
 * share (openssl-made PFX files and a share account) the simulated hosts read.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { connectionStringFor } from '../../local/azurite.js';
import { seedDemoShare, type DemoShare } from '../../local/demo-share.js';
import type { AllowedLocation } from '../../shared/paths.js';
import { startChild, type Child } from './child.js';
import type { HostInfo, HostOptions, HostStats } from './host-child.js';
import type { BenchThrottle, VaultInfo, VaultOptions, VaultStats } from './vault-child.js';
import type { QueueThrottleOptions } from './queue-throttle.js';

export interface Endpoints {
  queuePort: number;
  tablePort: number;
  connectionString: string;
}

export interface System {
  endpoints: Endpoints;
  host: HostInfo;
  hostChild: Child;
  vaultChild: Child;
  queueChild: Child;
  /** The same child as queueChild when the emulators are `combined`. */
  tableChild: Child;
  share: DemoShare;
  shareRoot: string;
  caCertPem: string;
  allowedLocations: AllowedLocation[];
  /** A scratch folder (tmpfs when available) removed on close. */
  scratch: string;
  /** The local host's counts and CPU, with the local vault's (`vault`, `vaultCpu`). */
  hostStats(): Promise<SystemStats>;
  resetHost(): Promise<void>;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface SystemStats extends HostStats {
  /** Requests the local Key Vault served, by operation (its `throttled`: the 429s). */
  vault: Record<string, number>;
  vaultCpu: NodeJS.CpuUsage;
  vaultRssPeak: number;
}

export interface SystemOptions {
  preflightTimeoutSeconds?: number;
  operationTimeoutSeconds?: number;
  timers?: boolean;
  reports?: boolean;
  /** Seed the demo share (needs openssl); off for benchmarks that use no agent. */
  share?: boolean;
  /** Azurite queue servers behind the queue port (see azurite-child.ts); 1 = plain Azurite. */
  queueShards?: number;
  /** The report trigger's longest idle poll; host.json's (2 s, as in Azure) when absent. */
  reportPollMaxMs?: number;
  /**
   * `separate` (default): queue and table emulators in a process each, so they run in
   * parallel; `combined`: one process for both (cheaper to start: the smoke test).
   */
  azurite?: 'separate' | 'combined';
  /** Key Vault's rate limits on the local vault, scaled or explicit; none when absent. */
  keyVaultThrottle?: BenchThrottle;
  /** Queue Storage's scalability targets in front of the queue emulator (queue-throttle.ts). */
  queueThrottle?: Omit<QueueThrottleOptions, 'now'>;
}

/** A scratch folder on tmpfs when there is one: a thousand hosts' fsyncs are not what is measured. */
export function scratchDir(prefix: string): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(join(base, prefix));
}

/**
 * The benchmark's HTTP client: node:http over kept-alive connections, as the SDK clients of the
 * bare calls use, so that the client's own cost is the same on both sides of the API ratio.
 */
const agent = new HttpAgent({ keepAlive: true, maxSockets: 64 });

/**
 * A kept-alive connection the local host closed as idle just as a request went out fails with
 * ECONNRESET ("socket hang up") before the host read the request: sent once more on a new one.
 * (Seen once while enrolling 1,000 hosts on a loaded machine.)
 */
async function apiRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Response> {
  try {
    return await apiRequestOnce(url, method, headers, body);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ECONNRESET') throw error;
    return apiRequestOnce(url, method, headers, body);
  }
}

function apiRequestOnce(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) responseHeaders.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
        const status = res.statusCode ?? 0;
        const empty = status === 204 || status === 304;
        resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const scratch = scratchDir('ccs-bench-');
  const shareRoot = join(scratch, 'shares');
  const started: Child[] = [];
  try {
    const shareReady =
      options.share === false
        ? Promise.resolve(undefined)
        : seedDemoShare({ shareRoot, privateKeyPassword: 'Bench-Pk-Pa55!' });
    const queueArgs = [
      String(options.queueShards ?? 1),
      ...(options.queueThrottle ? [JSON.stringify(options.queueThrottle)] : []),
    ];
    const children = await Promise.allSettled(
      options.azurite === 'combined'
        ? [startChild('azurite-child.ts', ['both', ...queueArgs])]
        : [
            startChild('azurite-child.ts', ['queue', ...queueArgs]),
            startChild('azurite-child.ts', ['table']),
          ],
    );
    for (const c of children) if (c.status === 'fulfilled') started.push(c.value);
    const [queueChild, tableChild = queueChild] = children.map((c) => {
      if (c.status === 'rejected') throw c.reason;
      return c.value;
    }) as [Child, Child?];
    const queuePort = await queueChild.call<number>('port');
    const tablePort = await tableChild
      .call<number>('tablePort')
      .then((p) => p || tableChild.call<number>('port'));
    const endpoints: Endpoints = {
      queuePort,
      tablePort,
      connectionString: connectionStringFor(queuePort, tablePort),
    };
    const allowedLocations: AllowedLocation[] = [{ path: '\\\\localhost\\ccs', claims: ['read'] }];
    const vaultOptions: VaultOptions = { throttle: options.keyVaultThrottle };
    const vaultChild = await startChild('vault-child.ts', [], {
      BENCH_VAULT_OPTIONS: JSON.stringify(vaultOptions),
    });
    started.push(vaultChild);
    const vault = await vaultChild.call<VaultInfo>('info');
    const hostOptions: HostOptions = {
      ...endpoints,
      allowedLocations,
      preflightTimeoutSeconds: options.preflightTimeoutSeconds ?? 120,
      operationTimeoutSeconds: options.operationTimeoutSeconds ?? 600,
      timers: options.timers ?? true,
      reports: options.reports ?? true,
      reportPollMaxMs: options.reportPollMaxMs,
      vault,
    };
    const hostChild = await startChild('host-child.ts', [], {
      BENCH_HOST_OPTIONS: JSON.stringify(hostOptions),
    });
    started.push(hostChild);
    const host = await hostChild.call<HostInfo>('info');
    const share = (await shareReady) ?? {
      path: '\\\\localhost\\ccs',
      folder: join(shareRoot, 'ccs'),
      username: 'LOCALHOST\\ccs-reader',
      password: 'unused',
      privateKeyPassword: 'unused',
    };
    return {
      endpoints,
      host,
      hostChild,
      vaultChild,
      queueChild,
      tableChild,
      share,
      shareRoot,
      caCertPem: readFileSync(host.caCertPath, 'utf8'),
      allowedLocations,
      scratch,
      hostStats: async () => {
        const [host, vaultStats] = await Promise.all([
          hostChild.call<HostStats>('stats'),
          vaultChild.call<VaultStats>('stats'),
        ]);
        return {
          ...host,
          vault: vaultStats.counts,
          vaultCpu: vaultStats.cpu,
          vaultRssPeak: vaultStats.rssPeak,
        };
      },
      resetHost: async () => {
        await Promise.all([hostChild.call('reset'), vaultChild.call('reset')]);
      },
      api: (method, path, body, headers = {}) =>
        apiRequest(
          `${host.api}${path}`,
          method,
          {
            'Access-Token': `Bearer ${host.writeToken}`,
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...headers,
          },
          body === undefined ? undefined : JSON.stringify(body),
        ),
      close: async () => {
        for (const child of started.reverse()) await child.close();
        rmSync(scratch, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const child of started.reverse()) await child.close();
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
}
