/**
 * Benchmark 2 — idle cost at the default poll settings (pollMin 1 s, pollMax 30 s, hello 300 s,
 * drift 60 s: drift reads IIS, not storage).
 *
 * An hour of idle fleet is simulated with virtual clocks: each agent's own clock (the AgentClock
 * port of agent/loop.ts) makes its sleeps last 1/scale of their length while counting them in
 * full (bench/support/fleet.ts `virtualClock`), so its poll, hello and drift timers fire as they
 * would over an hour, in an hour / scale of real time, and request latency is not magnified. The
 * storage requests are counted as they are sent (agent side and API side), so nothing is
 * extrapolated except the API's own background (the report trigger's polling and the
 * sweeper run on real time: they are measured separately, per deployment, not per host).
 * During the measured window the API's services run on a clock sped up by the same scale
 * (bench/support/rate-clock.ts), so the time-based savings of folding a hello (a host row's
 * `lastSeen` written at most every 9 minutes, a host's key read every 10) count as over an hour.
 *
 * The fleet is enabled first (a real two-phase change), so the hellos are folded against an
 * enabled ccs-id as in production.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { countStorageRequests, diffCounts, total, type Counts } from './support/http-counter.js';
import { now, fleetEndpoints, startFleet, virtualClock, type Fleet } from './support/fleet.js';
import { startSystem } from './support/system.js';
import { quantile, round } from './support/stats.js';
import { DEFAULT_QUEUE_SHARDS } from './fleet.js';

/** List prices (USD, pay-as-you-go, US regions) as in docs/deploy.md "What it costs". */
export const PRICES = {
  queuePer10k: 0.004,
  tablePer10k: 0.00036,
  executionsPerMillion: 0.4,
};
export const HOURS_PER_MONTH = 24 * 30;

export interface IdleOptions {
  hosts?: number;
  /** Simulated seconds per real second. */
  scale?: number;
  /** Simulated length of the measured window, in seconds. */
  simulatedSeconds?: number;
  pollMinSeconds?: number;
  pollMaxSeconds?: number;
  helloIntervalSeconds?: number;
  driftIntervalSeconds?: number;
  /** Real seconds the API's background is measured for, with no host (default 4). */
  backgroundSeconds?: number;
  /** The report trigger's longest idle poll (default: host.json's, as in Azure). */
  reportPollMaxMs?: number;
  /** Emulator processes (bench/support/system.ts); `separate` by default. */
  azurite?: 'separate' | 'combined';
  log?: (line: string) => void;
}

export interface IdleResult {
  name: 'idle';
  hosts: number;
  scale: number;
  simulatedHours: number;
  settings: {
    pollMinSeconds: number;
    pollMaxSeconds: number;
    helloIntervalSeconds: number;
    driftIntervalSeconds: number;
  };
  /** Per host per hour. */
  /** `other`: anything else an idle agent sent (deletes, other reports): expected 0. */
  agent: { requests: number; receives: number; hellos: number; other: number };
  api: { requests: number; perHello: number; breakdownPerHello: Record<string, number> };
  requestsPerHostHour: number;
  /** The API's own polling and sweeping, per deployment (real time). */
  apiBackgroundPerHour: number;
  pickup: { maxGapSeconds: number; p99GapSeconds: number; worstTwoPhaseSeconds: number };
  costPer1000HostsMonth: {
    queueOps: number;
    tableOps: number;
    executions: number;
    usd: { queue: number; table: number; executions: number; total: number };
  };
}

/**
 * Worst-case time from a two-phase change's preflight being issued to the last host picking up
 * its apply, at these poll settings (agent/loop.ts): every host picks the preflight up within
 * `max`, then sleeps until `max + min` after it was issued and polls at min, 2·min, … from
 * there; the apply is issued once the slowest host has preflighted and the API has folded its
 * report — allowed here up to `max + min` after the preflight. The first poll at or after the
 * apply's issue is its pickup.
 */
export function worstTwoPhaseSeconds(min: number, max: number): number {
  const offsets: number[] = [];
  let at = max + min;
  offsets.push(at);
  for (let d = min; at < 3 * max; d = Math.min(d * 2, max)) offsets.push((at += d));
  let worst = 0;
  for (let issued = 0; issued <= max + min; issued += 0.01) {
    worst = Math.max(worst, offsets.find((o) => o >= issued - 1e-9) ?? issued + max);
  }
  return worst;
}

export async function runIdle(options: IdleOptions = {}): Promise<IdleResult> {
  const log = options.log ?? (() => {});
  const hosts = options.hosts ?? 20;
  const scale = options.scale ?? 60;
  const simulatedSeconds = options.simulatedSeconds ?? 3600;
  const settings = {
    pollMinSeconds: options.pollMinSeconds ?? 1,
    pollMaxSeconds: options.pollMaxSeconds ?? 30,
    helloIntervalSeconds: options.helloIntervalSeconds ?? 300,
    driftIntervalSeconds: options.driftIntervalSeconds ?? 60,
  };
  // No timers: the sweeper and the inventory scheduler run on real time and cost per deployment
  // and ccs-id, not per host (docs/deploy.md prices the sweeper); the change below waits itself.
  const system = await startSystem({
    queueShards: DEFAULT_QUEUE_SHARDS,
    timers: false,
    reportPollMaxMs: options.reportPollMaxMs,
    azurite: options.azurite,
  });
  const counter = countStorageRequests(system.endpoints);
  let fleet: Fleet | undefined;
  try {
    // The API's background (report trigger polling, sweeper) with no host at all, in real time.
    await system.resetHost();
    const bgSeconds = options.backgroundSeconds ?? 4;
    await sleepFor(bgSeconds * 1000);
    const background = (await system.hostStats()).counts;
    const backgroundPerSecond = total(background) / bgSeconds;

    fleet = await startFleet({
      size: hosts,
      ccsId: 'idle',
      ...fleetEndpoints(system),
      ...settings,
      visibilityTimeoutSeconds: 60,
      staggerMs: (settings.pollMaxSeconds * 1000) / scale,
      clock: () => virtualClock(scale),
    });
    const running = fleet;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await system.api('GET', '/webserver/centralized-certificates/idle/hosts');
      const body = (await res.json()) as { hosts?: unknown[] };
      if ((body.hosts?.length ?? 0) >= hosts) break;
      if (Date.now() > deadline) throw new Error('idle: hosts did not enrol');
      await sleepFor(200);
    }
    const enable = await system.api(
      'POST',
      '/webserver/centralized-certificates/idle',
      {
        path: system.share.path,
        identity: { username: system.share.username, password: system.share.password },
        private_key_password: system.share.privateKeyPassword,
      },
      { Prefer: 'wait=60' },
    );
    if (enable.status !== 200) throw new Error(`idle: enable answered ${enable.status}`);
    // Let every agent back off to the idle interval (the fast sequence sums to about 2·max) and
    // the elected host finish the scan that follows an enable.
    await sleepFor(Math.max(((3 * settings.pollMaxSeconds) / scale) * 1000, 1500));
    await settled(counter, ((2 * settings.pollMaxSeconds) / scale) * 1000);
    log(`  idle: ${hosts} hosts enabled; measuring ${simulatedSeconds / 60} simulated minutes`);

    // From here the API's services run on virtual time too, at the agents' pace (rate-clock.ts).
    await system.hostChild.call('clockRate', scale);
    const hostBefore = (await system.hostStats()).counts;
    // The agents' counts and clocks are taken together, with no await between them: a request
    // sent while waiting would be counted but its hello fall before the window (at 600× a
    // 100 ms wait is a minute of the agents' time — the smoke test saw an idle agent's "other").
    const firstEvent = running.events.length;
    const agentBefore = counter.snapshot();
    // Every agent keeps its own virtual time: the window is [from, to] of each host's clock.
    const from = new Map(running.hosts.map((h) => [h, running.clockOf(h)]));
    const realFrom = now();
    await sleepFor((simulatedSeconds / scale) * 1000);
    const to = new Map(running.hosts.map((h) => [h, running.clockOf(h)]));
    const realTo = now();
    const inWindow = (host: string, at: number) => at >= from.get(host)! && at <= to.get(host)!;
    const agentDiff = onlyParty(diffCounts(counter.snapshot(), agentBefore), 'agent.');
    const apiDiff = diffCounts((await system.hostStats()).counts, hostBefore);

    let hostHours = 0;
    for (const host of running.hosts) hostHours += (to.get(host)! - from.get(host)!) / 3_600_000;
    const simHours = hostHours / hosts;
    const realSeconds = (realTo - realFrom) / 1000;
    const perHostHour = (n: number) => n / hostHours;
    const hellos = running.events
      .slice(firstEvent)
      .filter((e) => e.kind === 'report' && e.type === 'hello' && inWindow(e.host, e.at)).length;
    const receives = agentDiff['agent.queue.receive'] ?? 0;
    const apiForHosts = Math.max(0, total(apiDiff) - backgroundPerSecond * realSeconds);
    const perHello = hellos > 0 ? apiForHosts / hellos : 0;
    const apiNet = subtract(apiDiff, background, realSeconds / bgSeconds);

    const gaps: number[] = [];
    for (const [host, times] of running.receives) {
      const polls = times.filter((t) => inWindow(host, t));
      for (let i = 1; i < polls.length; i++) gaps.push((polls[i]! - polls[i - 1]!) / 1000);
    }
    const agentRequests = perHostHour(total(agentDiff));
    const apiRequests = perHostHour(apiForHosts);

    // Cost per 1,000 hosts and month, from the measured counts.
    const hostMonths = 1000 * HOURS_PER_MONTH;
    const apiQueuePerHello = total(apiNet, 'api.queue.') / Math.max(1, hellos);
    const apiTablePerHello = total(apiNet, 'api.table.') / Math.max(1, hellos);
    const hellosPerHostHour = perHostHour(hellos);
    const queueOps = hostMonths * (agentRequests + hellosPerHostHour * apiQueuePerHello);
    const tableOps = hostMonths * hellosPerHostHour * apiTablePerHello;
    const executions = hostMonths * hellosPerHostHour;
    const usd = {
      queue: (queueOps / 10_000) * PRICES.queuePer10k,
      table: (tableOps / 10_000) * PRICES.tablePer10k,
      executions: (executions / 1_000_000) * PRICES.executionsPerMillion,
    };
    return {
      name: 'idle',
      hosts,
      scale,
      simulatedHours: round(simHours, 3),
      settings,
      agent: {
        requests: round(agentRequests, 1),
        receives: round(perHostHour(receives), 1),
        hellos: round(hellosPerHostHour, 2),
        other: round(agentRequests - perHostHour(receives) - hellosPerHostHour, 2),
      },
      api: {
        requests: round(apiRequests, 1),
        perHello: round(perHello, 2),
        breakdownPerHello: Object.fromEntries(
          Object.entries(apiNet).map(([k, v]) => [k, round(v / Math.max(1, hellos), 2)]),
        ),
      },
      requestsPerHostHour: round(agentRequests + apiRequests, 1),
      apiBackgroundPerHour: Math.round(backgroundPerSecond * 3600),
      pickup: {
        maxGapSeconds: round(Math.max(0, ...gaps), 1),
        p99GapSeconds: round(quantile(gaps, 0.99), 1),
        worstTwoPhaseSeconds: round(
          worstTwoPhaseSeconds(settings.pollMinSeconds, settings.pollMaxSeconds),
          1,
        ),
      },
      costPer1000HostsMonth: {
        queueOps: Math.round(queueOps),
        tableOps: Math.round(tableOps),
        executions: Math.round(executions),
        usd: {
          queue: round(usd.queue, 2),
          table: round(usd.table, 2),
          executions: round(usd.executions, 2),
          total: round(usd.queue + usd.table + usd.executions, 2),
        },
      },
    };
  } finally {
    await fleet?.stop();
    counter.stop();
    await system.close();
  }
}

/**
 * Waits until the agents send nothing but polls and hellos for `quietMs` (at most a minute): on a
 * loaded machine the enable's serving checks, bindings reports and the scan that follows it can
 * outlast the fixed wait above, and would be counted as idle traffic.
 */
async function settled(counter: { snapshot(): Counts }, quietMs: number): Promise<void> {
  const busy = (counts: Counts) =>
    total(onlyParty(counts, 'agent.')) -
    (counts['agent.queue.receive'] ?? 0) -
    (counts['agent.queue.send'] ?? 0);
  const deadline = Date.now() + 60_000;
  let last = busy(counter.snapshot());
  while (Date.now() < deadline) {
    await sleepFor(Math.max(quietMs, 200));
    const now = busy(counter.snapshot());
    if (now === last) return;
    last = now;
  }
}

function onlyParty(counts: Counts, prefix: string): Counts {
  return Object.fromEntries(Object.entries(counts).filter(([k]) => k.startsWith(prefix)));
}

/** counts − background × factor, key by key, floored at 0. */
function subtract(counts: Counts, background: Counts, factor: number): Counts {
  const out: Counts = {};
  for (const [k, v] of Object.entries(counts)) out[k] = Math.max(0, v - (background[k] ?? 0) * factor);
  return out;
}
