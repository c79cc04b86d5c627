/**
 * Benchmark 3 — API overhead: the latency of GET and PATCH through the local host (HTTP, auth,
 * validation, the handler, the response) divided by the latency of the bare storage and Key
 * Vault calls that handler has to make, issued from here with the same SDK clients against the
 * same emulators, in the same run, interleaved block by block so both see the same conditions.
 *
 * 10 hosts are enrolled (hello reports, folded by the host's report processor); no agent runs,
 * so each PATCH leaves an operation waiting in its preflight phase, as a real one does for a
 * while. The bare sequences follow the handlers call for call (shared/services/ccs-service.ts,
 * operation-engine.ts `start`, operation-wait.ts), and the result records how many storage
 * requests each API call really made, so the two can be compared:
 *
 * - GET: read the desired state (point read), list the hosts (partition query).
 * - PATCH path: read the desired state; list the hosts; write the audit log's entry, the host
 *   rows (one entity-group transaction), the operation, its active-index row; one command per
 *   host (in parallel); list the operation's host rows for the 202 body.
 * - PATCH password: the same, after writing the new secret version to Key Vault.
 */
import { performance } from 'node:perf_hooks';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { odata, TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { TABLE_NAMES } from '../shared/adapters/table-support.js';
import { createSecretClient, KeyVaultSecretStore } from '../shared/adapters/keyvault-secret-store.js';
import { StaticTokenCredential } from '../shared/adapters/static-token-credential.js';
import { commandQueueName, REPORTS_QUEUE } from '../shared/names.js';
import { encodeMessage, MESSAGE_VERSION, type HelloReport } from '../shared/messages.js';
import { enrolmentProof } from '../shared/enrolment.js';
import { signReport, type ReportSigner } from '../shared/report-signature.js';
import { diffCounts, total } from './support/http-counter.js';
import { startSystem, type System } from './support/system.js';
import { p50, p99, round } from './support/stats.js';
import { DEFAULT_QUEUE_SHARDS } from './fleet.js';

export interface ApiOptions {
  /** Requests per kind and concurrency level (each level runs this many API and bare calls). */
  requests?: number;
  concurrency?: number[];
  hosts?: number;
  /** The report trigger's longest idle poll (default: host.json's, as in Azure). */
  reportPollMaxMs?: number;
  /** Emulator processes (bench/support/system.ts); `separate` by default. */
  azurite?: 'separate' | 'combined';
  log?: (line: string) => void;
}

export interface ApiRow {
  request: 'GET' | 'PATCH path' | 'PATCH password';
  concurrency: number;
  count: number;
  api: { p50Ms: number; p99Ms: number };
  bare: { p50Ms: number; p99Ms: number };
  ratioP50: number;
  ratioP99: number;
  /** Storage (and Key Vault) requests per call: what the handler made, what the bare sequence makes. */
  storageRequestsPerCall: { api: number; bare: number };
}

export interface ApiResult {
  name: 'api';
  hosts: number;
  /**
   * The HTTP round trip alone, per concurrency: a request the local host answers 404 before any
   * handler runs (same client, same connections). What the API adds beyond it is the handler's.
   */
  transport: { concurrency: number; p50Ms: number; p99Ms: number }[];
  rows: ApiRow[];
}

const CCS_ID = 'api-bench';
const RESOURCE = `/webserver/centralized-certificates/${CCS_ID}`;
const PATHS = ['\\\\localhost\\ccs', '\\\\localhost\\ccs\\v2'];

async function timed(run: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await run();
  return performance.now() - t;
}

/** Runs `count` calls of `call` with `concurrency` workers; latencies in ms. */
async function load(
  count: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out.push(await timed(() => call(i)));
      }
    }),
  );
  return out;
}

export async function runApi(options: ApiOptions = {}): Promise<ApiResult> {
  const log = options.log ?? (() => {});
  const requests = options.requests ?? 200;
  const levels = options.concurrency ?? [1, 32];
  const hostCount = options.hosts ?? 10;
  // No sweeper: the operations these PATCHes leave behind would otherwise be re-read every second.
  const system = await startSystem({
    timers: false,
    share: false,
    queueShards: DEFAULT_QUEUE_SHARDS,
    reportPollMaxMs: options.reportPollMaxMs,
    azurite: options.azurite,
  });
  try {
    await enrol(system, hostCount);
    const cs = system.endpoints.connectionString;
    const bare = new BareCalls(
      cs,
      new KeyVaultSecretStore(
        createSecretClient({
          vaultUrl: system.host.vaultUrl,
          credential: new StaticTokenCredential(system.host.apiVaultToken),
          caCertPem: system.caCertPem,
        }),
      ),
      hostCount,
    );
    await bare.warm();
    const calls = {
      GET: {
        api: async () => expectStatus(await system.api('GET', RESOURCE), 200),
        bare: () => bare.get(),
      },
      'PATCH path': {
        // No agent answers, so no change commits: the desired path stays PATHS[0] and every
        // PATCH to PATHS[1] is a change (202) that starts an operation.
        api: async () => expectStatus(await system.api('PATCH', RESOURCE, { path: PATHS[1] }), 202),
        bare: () => bare.patch(false),
      },
      'PATCH password': {
        api: async () =>
          expectStatus(
            await system.api('PATCH', RESOURCE, { identity: { password: `pw-${randomUUID()}` } }),
            202,
          ),
        bare: () => bare.patch(true),
      },
    } as const;
    const rows: ApiRow[] = [];
    const transport: ApiResult['transport'] = [];
    for (const concurrency of levels) {
      const floor = await load(requests, concurrency, async () =>
        expectStatus(await system.api('GET', '/no-such-route'), 404),
      );
      transport.push({ concurrency, p50Ms: round(p50(floor), 2), p99Ms: round(p99(floor), 2) });
      for (const kind of Object.keys(calls) as (keyof typeof calls)[]) {
        const count = kind === 'GET' ? requests : Math.max(concurrency, Math.round(requests / 2));
        const apiTimes: number[] = [];
        const bareTimes: number[] = [];
        let apiStorage = 0;
        // Interleave API and bare blocks so that both run under the same emulator state.
        const blocks = 4;
        for (let b = 0; b < blocks; b++) {
          const n = Math.max(concurrency, Math.round(count / blocks));
          const before = await system.hostStats();
          apiTimes.push(...(await load(n, concurrency, calls[kind].api)));
          const after = await system.hostStats();
          apiStorage +=
            total(diffCounts(after.counts, before.counts)) + kvWrites(after.vault) - kvWrites(before.vault);
          bareTimes.push(...(await load(n, concurrency, calls[kind].bare)));
        }
        const row: ApiRow = {
          request: kind,
          concurrency,
          count: apiTimes.length,
          api: { p50Ms: round(p50(apiTimes), 1), p99Ms: round(p99(apiTimes), 1) },
          bare: { p50Ms: round(p50(bareTimes), 1), p99Ms: round(p99(bareTimes), 1) },
          ratioP50: round(p50(apiTimes) / p50(bareTimes), 2),
          ratioP99: round(p99(apiTimes) / p99(bareTimes), 2),
          storageRequestsPerCall: {
            api: round(apiStorage / apiTimes.length, 1),
            bare: bare.requestsPer(kind),
          },
        };
        rows.push(row);
        log(
          `  ${kind} ×${concurrency}: API p50 ${row.api.p50Ms} ms / bare ${row.bare.p50Ms} ms = ${row.ratioP50}×, ` +
            `p99 ${row.ratioP99}×`,
        );
      }
    }
    return { name: 'api', hosts: hostCount, transport, rows };
  } finally {
    await system.close();
  }
}

function kvWrites(stats: Record<string, number>): number {
  return (stats.setSecret ?? 0) + (stats.getSecret ?? 0);
}

async function expectStatus(res: Response, status: number): Promise<void> {
  await res.arrayBuffer();
  if (res.status !== status) throw new Error(`api bench: expected ${status}, got ${res.status}`);
}

/** Enables the ccs-id with no host (it commits at once), then enrols `count` hosts by hello. */
async function enrol(system: System, count: number): Promise<void> {
  const enable = await system.api('POST', RESOURCE, {
    path: PATHS[0],
    identity: { username: 'LOCALHOST\\ccs-reader', password: 'pw-initial' },
    private_key_password: 'pk-initial',
  });
  if (enable.status !== 202) throw new Error(`api bench: enable answered ${enable.status}`);
  const reports = QueueServiceClient.fromConnectionString(system.endpoints.connectionString).getQueueClient(
    REPORTS_QUEUE,
  );
  await reports.createIfNotExists();
  for (let i = 0; i < count; i++) {
    // Each host enrols as an agent does (issue 17): its own key, a one-time code, a signed hello.
    const host = `web-${String(i).padStart(2, '0')}`;
    const key = newHostKey();
    const code = await system.api('POST', `${RESOURCE}/enrolment-codes`, { expires_in_minutes: 60 });
    if (code.status !== 201) throw new Error(`api bench: enrolment code answered ${code.status}`);
    const { code: enrolmentCode } = (await code.json()) as { code: string };
    const hello: HelloReport = {
      v: MESSAGE_VERSION,
      type: 'hello',
      ccsId: CCS_ID,
      host,
      agentVersion: 'bench',
      backend: 'simulated',
      actual: { enabled: true, path: PATHS[0]!, username: 'LOCALHOST\\ccs-reader' },
      appliedGeneration: 1,
      at: new Date().toISOString(),
      hostKey: key.publicKey,
      enrolmentProof: enrolmentProof(enrolmentCode, CCS_ID, host, key.publicKey),
    };
    await reports.sendMessage(encodeMessage(signReport(hello, key)));
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const body = (await (await system.api('GET', `${RESOURCE}/hosts`)).json()) as { hosts?: unknown[] };
    if ((body.hosts?.length ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error('api bench: hosts did not enrol');
    await sleepFor(100);
  }
}

/** The storage and Key Vault calls the handlers make, made directly with the same SDK clients. */
class BareCalls {
  private readonly ccs: TableClient;
  private readonly hosts: TableClient;
  private readonly ops: TableClient;
  private readonly audit: TableClient;
  private readonly bindings: TableClient;
  private readonly serving: TableClient;
  private readonly queues: QueueServiceClient;
  private hostNames: string[] = [];

  constructor(
    connectionString: string,
    private readonly secrets: KeyVaultSecretStore,
    private readonly hostCount: number,
  ) {
    const options = { allowInsecureConnection: true };
    this.ccs = TableClient.fromConnectionString(connectionString, TABLE_NAMES.desired, options);
    this.hosts = TableClient.fromConnectionString(connectionString, TABLE_NAMES.hosts, options);
    this.ops = TableClient.fromConnectionString(connectionString, TABLE_NAMES.operations, options);
    this.audit = TableClient.fromConnectionString(connectionString, TABLE_NAMES.audit, options);
    this.bindings = TableClient.fromConnectionString(connectionString, TABLE_NAMES.bindings, options);
    this.serving = TableClient.fromConnectionString(connectionString, TABLE_NAMES.serving, options);
    this.queues = QueueServiceClient.fromConnectionString(connectionString);
  }

  requestsPer(kind: 'GET' | 'PATCH path' | 'PATCH password'): number {
    const patch = 8 + this.hostCount;
    return kind === 'GET' ? 4 : kind === 'PATCH path' ? patch : patch + 1;
  }

  async warm(): Promise<void> {
    // The API creates its tables on first use; the bare calls must not depend on that order.
    await Promise.all([this.bindings.createTable(), this.serving.createTable()]);
    const names: string[] = [];
    for await (const row of this.hosts.listEntities<{ host: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${CCS_ID}` },
    })) {
      names.push(row.host);
    }
    this.hostNames = names;
    await this.get();
  }

  async get(): Promise<void> {
    await this.ccs.getEntity('ccs', CCS_ID);
    await drain(this.hosts.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${CCS_ID}` } }));
    // Issue 13: the hosts' binding heads (the coverage summary; no bindings here, so no inventory
    // read) and this generation's serving checks, in parallel as the handler reads them.
    await Promise.all([
      drain(
        this.bindings.listEntities({
          queryOptions: { filter: odata`PartitionKey eq ${CCS_ID} and RowKey ge 'h|' and RowKey lt 'h|~'` },
        }),
      ),
      this.servingChecks(),
    ]);
  }

  /** One generation's serving checks (the resource's and an operation's `serving`). */
  private servingChecks(): Promise<void> {
    return drain(
      this.serving.listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${CCS_ID} and RowKey ge 'g|0|' and RowKey lt 'g|0|~'` },
      }),
    );
  }

  async patch(password: boolean): Promise<void> {
    await this.ccs.getEntity('ccs', CCS_ID);
    if (password) await this.secrets.setSecret(`ccs-${CCS_ID}-identity-password`, `pw-${randomUUID()}`);
    await drain(this.hosts.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${CCS_ID}` } }));
    const id = randomUUID();
    const now = new Date().toISOString();
    // The audit log's entry, written before the operation (shared/services/audit-log.ts).
    await this.audit.createEntity({
      partitionKey: 'audit',
      rowKey: `${String(9_999_999_999_999 - Date.now()).padStart(13, '0')}-${id}`,
      id,
      at: now,
      who: 'access-token:bench',
      ccsId: CCS_ID,
      operationId: id,
      kind: 'update',
      changes: '[]',
    });
    await this.ops.submitTransaction(
      this.hostNames.map((host) => [
        'upsert',
        {
          partitionKey: id,
          rowKey: `h:${host.toLowerCase()}`,
          host,
          preflight: 'pending',
          apply: 'pending',
          error: 'null',
          updatedAt: now,
        },
        'Replace',
      ]),
    );
    await this.ops.createEntity({ partitionKey: id, rowKey: 'op', status: 'Running', updatedAt: now });
    await this.ops.upsertEntity({ partitionKey: 'active', rowKey: id });
    await Promise.all(
      this.hostNames.map((host) =>
        this.queues
          .getQueueClient(commandQueueName(CCS_ID, host))
          .sendMessage(
            Buffer.from(JSON.stringify({ v: 1, type: 'preflight', host, id })).toString('base64'),
            {
              messageTimeToLive: 86_400,
            },
          ),
      ),
    );
    await drain(
      this.ops.listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${id} and RowKey gt 'h:' and RowKey lt 'h;'` },
      }),
    );
    await this.servingChecks(); // the 202's operation view shows its serving checks
  }
}

async function drain(iter: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iter) {
    // read every page
  }
}

/** A host's P-256 key pair, as agent/host-key.ts makes one. */
function newHostKey(): ReportSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicKey: { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) } };
}
