/**
 * How long a private-key password rotation takes on a fleet far larger than this machine can
 * run, from the per-host costs `npm run bench` measures and the Azure services' documented
 * limits. A bottleneck ("fluid") model: each phase of the two-phase change ends when its
 * slowest resource has served the phase's demand, plus the waits no resource can shorten (a
 * host's poll, its local work). docs/performance.md ("10,000 hosts") explains every term.
 *
 * Limits, with their sources:
 * - Key Vault, per vault, in any 10 s: 4,000 secret transactions other than create, and 4,000
 *   operations on an ECC P-256 software key other than create (sign, get) — "Azure Key Vault
 *   service limits". Secrets and keys have separate budgets.
 * - Queue Storage: 20,000 requests per second per storage account, and up to 2,000 messages
 *   per second for a single queue — "Scalability and performance targets for Queue Storage" /
 *   "for standard storage accounts". The account's budget is shared by queues and tables. A
 *   queue's messages are counted per operation: "each AddMessage, GetMessage, and DeleteMessage
 *   count as a message" ("Performance and scalability checklist for Queue Storage"), so a report
 *   costs the reports queue three (its send, its receive, its delete). The same limits are
 *   enforced in front of the benchmark's queue emulator (bench/support/queue-throttle.ts).
 * - Functions Flex Consumption: instances scale out per trigger, up to the app's maximum
 *   instance count (100 by default, 1,000 at most) — "Azure Functions Flex Consumption plan".
 */

/** Per host, per two-phase rotation: what `npm run bench` measured (docs/performance.md). */
export interface MeasuredCosts {
  /** Storage requests the agent sends (receives brought forward, deletes, reports). */
  agentRequests: number;
  /** Storage requests the API sends (command sends, report receives and deletes, table I/O). */
  apiRequests: number;
  /** CPU the API spends (fan-out, signing calls, folding). */
  apiCpuMs: number;
  /** Secrets each host reads from Key Vault (a rotation: the new private-key password). */
  secretReads: number;
  /** Key Vault `sign` calls: one per command, two commands per host. */
  signs: number;
  /** Reads of the command-signing key's public part (once per key version per host). */
  keyReads: number;
  /** Reports each host sends to the single `ccs-reports` queue. */
  reports: number;
}

/** Reports-queue messages per report: sent by the agent, received and deleted by the API. */
export const QUEUE_MESSAGES_PER_REPORT = 3;

/**
 * The figures of the final run in docs/performance.md (1,000 hosts, rotation; section 12, after
 * issue 18's batching: the API's requests 10.81 → 4.92, its CPU beyond idle 6.57 ms, the local
 * Key Vault's no longer counted in it).
 */
export const MEASURED: MeasuredCosts = {
  agentRequests: 7,
  apiRequests: 4.92,
  apiCpuMs: 6.57,
  secretReads: 1,
  signs: 2,
  keyReads: 1,
  reports: 2,
};

export interface ServiceLimits {
  keyVaultSecretOpsPerSecond: number;
  keyVaultKeyOpsPerSecond: number;
  storageRequestsPerSecond: number;
  queueMessagesPerSecond: number;
  functionInstances: number;
}

export const AZURE_LIMITS: ServiceLimits = {
  keyVaultSecretOpsPerSecond: 4000 / 10,
  keyVaultKeyOpsPerSecond: 4000 / 10,
  storageRequestsPerSecond: 20_000,
  queueMessagesPerSecond: 2_000,
  functionInstances: 100,
};

/** The agent's schedule and the server's own work. */
export interface FleetSettings {
  hosts: number;
  /** The idle poll interval: a command waits up to this long for its pickup. */
  pollMaxSeconds: number;
  /** The fast poll after a passed preflight, when the apply is expected. */
  pollMinSeconds: number;
  /** A server's own time for a preflight or an apply (SMB, PKCS#12 checks, the cmdlets). */
  hostLocalSeconds: number;
}

/** How the fan-out spends Key Vault's key budget. */
export interface FanOutDesign {
  /** Key Vault sign calls per fan-out of N commands: N today, 1 with one signed manifest. */
  signsPerFanOut: (hosts: number) => number;
  label: string;
}

export const SIGN_EACH_COMMAND: FanOutDesign = { label: 'sign each command', signsPerFanOut: (n) => n };
export const SIGN_ONE_MANIFEST: FanOutDesign = {
  label: 'one signed manifest per fan-out',
  signsPerFanOut: () => 1,
};

export type Resource =
  'key vault keys' | 'key vault secrets' | 'storage account' | 'reports queue' | 'function CPU' | 'polling';

export interface PhaseEstimate {
  /** Seconds each rate-limited resource needs for the phase's demand. */
  busySeconds: Record<Exclude<Resource, 'polling'>, number>;
  /** The waits no resource shortens: the pickup and the host's own work. */
  latencySeconds: number;
  seconds: number;
  binding: Resource;
}

export interface RotationEstimate {
  hosts: number;
  design: string;
  preflight: PhaseEstimate;
  commit: PhaseEstimate;
  seconds: number;
}

const PHASES = 2;

/**
 * A rotation at `fleet.hosts`: the preflight phase (fan-out, pickup within an idle poll, the
 * secret read, the reports) and the commit phase (fan-out, pickup at the fast poll, the apply,
 * the reports). Key reads happen at a host's first command of a key version, so in the
 * preflight. Idle polling of the whole fleet runs throughout and spends the account's budget.
 */
export function estimateRotation(
  fleet: FleetSettings,
  costs: MeasuredCosts = MEASURED,
  limits: ServiceLimits = AZURE_LIMITS,
  design: FanOutDesign = SIGN_EACH_COMMAND,
): RotationEstimate {
  const n = fleet.hosts;
  const perPhase = (total: number) => total / PHASES;
  const idlePollsPerSecond = n / fleet.pollMaxSeconds;
  const phase = (keyOps: number, secretOps: number, pickupSeconds: number): PhaseEstimate => {
    const requests = n * perPhase(costs.agentRequests + costs.apiRequests);
    const latencySeconds = pickupSeconds + fleet.hostLocalSeconds;
    // The account serves the phase's requests on top of the fleet's idle polls.
    const accountCapacity = Math.max(1, limits.storageRequestsPerSecond - idlePollsPerSecond);
    const busySeconds = {
      'key vault keys': keyOps / limits.keyVaultKeyOpsPerSecond,
      'key vault secrets': secretOps / limits.keyVaultSecretOpsPerSecond,
      'storage account': requests / accountCapacity,
      'reports queue':
        (n * perPhase(costs.reports) * QUEUE_MESSAGES_PER_REPORT) / limits.queueMessagesPerSecond,
      'function CPU': (n * perPhase(costs.apiCpuMs)) / 1000 / limits.functionInstances,
    };
    const [busiest, busy] = Object.entries(busySeconds).reduce((a, b) => (b[1] > a[1] ? b : a));
    // A resource that needs less time than the pickup window is hidden by it: commands and reads
    // spread over the window as the hosts' polls do.
    const seconds = Math.max(busy, pickupSeconds) + fleet.hostLocalSeconds;
    const binding: Resource = busy > pickupSeconds ? (busiest as Resource) : 'polling';
    return { busySeconds, latencySeconds, seconds, binding };
  };
  const signs = perPhase(PHASES * design.signsPerFanOut(n));
  const preflight = phase(signs + n * costs.keyReads, n * costs.secretReads, fleet.pollMaxSeconds);
  const commit = phase(signs, 0, fleet.pollMinSeconds);
  return { hosts: n, design: design.label, preflight, commit, seconds: preflight.seconds + commit.seconds };
}

const round = (x: number) => Math.round(x * 10) / 10;

/** The table docs/performance.md shows. */
export function modelTable(rows: RotationEstimate[]): string {
  const lines = [
    '| hosts | fan-out | preflight (binds) | commit (binds) | rotation | KV keys busy | KV secrets busy | account busy | reports queue busy |',
    '| ----- | ------- | ----------------- | -------------- | -------- | ------------ | --------------- | ------------ | ------------------ |',
  ];
  for (const r of rows) {
    const busy = (k: Exclude<Resource, 'polling'>) =>
      `${round(r.preflight.busySeconds[k] + r.commit.busySeconds[k])} s`;
    lines.push(
      `| ${r.hosts} | ${r.design} | ${round(r.preflight.seconds)} s (${r.preflight.binding}) | ${round(r.commit.seconds)} s (${r.commit.binding}) | ${round(r.seconds)} s | ${busy('key vault keys')} | ${busy('key vault secrets')} | ${busy('storage account')} | ${busy('reports queue')} |`,
    );
  }
  return lines.join('\n');
}

/** The default agent schedule in Azure (poll 1–30 s) and a few seconds of work per phase. */
export const AZURE_FLEET: Omit<FleetSettings, 'hosts'> = {
  pollMaxSeconds: 30,
  pollMinSeconds: 1,
  hostLocalSeconds: 3,
};

export function runScaleModel(sizes: number[] = [1_000, 10_000, 50_000]): {
  rows: RotationEstimate[];
  table: string;
} {
  const rows = sizes.flatMap((hosts) => [
    estimateRotation({ hosts, ...AZURE_FLEET }),
    estimateRotation({ hosts, ...AZURE_FLEET }, MEASURED, AZURE_LIMITS, SIGN_ONE_MANIFEST),
  ]);
  return { rows, table: modelTable(rows) };
}
