/**
 * One soak run (issue 22): a simulated fleet on the real stack (Azurite processes, the local Key
 * Vault, the API on the Function App's handlers, one real agent process per host), a seeded
 * driver making changes through the HTTP API while a seeded injector injects faults, then a
 * settle, a last look at everything and the invariant check over the whole history.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createShareAccount } from '../../agent/backends/simulated.js';
import { DEMO_SHARE } from '../../local/demo-share.js';
import { startFaultStack, uniqueCanary, type FaultStack } from '../hardening/support/fault-stack.js';
import { SoakApi } from './api-client.js';
import { planChange, type SoakFixture } from './changes.js';
import { checkHistory, type CheckResult } from './checker.js';
import { SoakDriver, type DriverFigures } from './driver.js';
import { dumpEverything, readAudit } from './dumps.js';
import { FaultInjector, type FaultTally } from './faults/injector.js';
import { HistoryRecorder, type History } from './history.js';
import { FleetObserver } from './observer.js';
import { Random } from './random.js';

export interface SoakOptions {
  hosts: number;
  changes: number;
  seed: number;
  /** Mean faults started with each change (default 1.6). */
  faultsPerChange?: number;
  preflightTimeoutSeconds?: number;
  operationTimeoutSeconds?: number;
  /**
   * How long a change waits for its operations before the next one is sent (default: until
   * they end). Shorter makes changes overlap, as several administrators' do.
   */
  changeWaitSeconds?: number;
  /** Aborted: no more changes; the run settles and is checked as it is (Ctrl-C). */
  signal?: AbortSignal;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface SoakResult {
  history: History;
  check: CheckResult;
  canaries: readonly string[];
  figures: {
    seed: number;
    hosts: number;
    /** The other options, as given on the command line. */
    options: string;
    durationSeconds: number;
    driver: DriverFigures;
    faults: FaultTally;
    faultsTotal: number;
    events: number;
    contractBreaches: SoakApi['breaches'];
    retriedGets: SoakApi['retriedGets'];
  };
}

const hostNames = (n: number) => Array.from({ length: n }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const random = new Random(options.seed);
  const plan = random.fork('changes');
  const recorder = new HistoryRecorder(options.seed, () => Date.now() - started);
  const preflightTimeoutSeconds = options.preflightTimeoutSeconds ?? 8;
  const hosts = hostNames(options.hosts);
  // Every fourth host does not allow C:\ccs: a change to it must fail the preflight there.
  const deniedOn = hosts.filter((_, i) => i % 4 === 3);
  const secrets = {
    share: uniqueCanary('share'),
    second: uniqueCanary('second'),
    privateKey: uniqueCanary('pk'),
    wrong: [uniqueCanary('wrong-a'), uniqueCanary('wrong-b')],
  };
  const faultRoot = mkdtempSync(join(tmpdir(), 'ccs-soak-faults-'));
  // The observer needs the stack; the stack's report processor needs the observer.
  const late: { observer?: FleetObserver } = {};
  log(`soak seed ${options.seed}: starting ${hosts.length} agents`);
  const stack = await startFaultStack({
    hosts,
    privateKeyPassword: secrets.privateKey,
    sharePassword: secrets.share,
    preflightTimeoutSeconds,
    operationTimeoutSeconds: options.operationTimeoutSeconds ?? 60,
    fleet: {
      allowedLocations: (host, defaults) =>
        deniedOn.includes(host) ? defaults.filter((l) => !l.path.startsWith('C:')) : defaults,
      // A larger fleet polls less often: the machine is shared.
      agentSettings: hosts.length > 10 ? { pollMinSeconds: 0.2, pollMaxSeconds: 1.5 } : {},
      agentImports: [new URL('./faults/agent-preload.ts', import.meta.url).pathname],
      agentEnv: (host, home) => ({
        CCS_SOAK_FAULT_DIR: join(faultRoot, host),
        CCS_SOAK_STATE_DIR: join(home, 'state'),
      }),
      onReport: (message) => late.observer?.report(message),
    },
  });
  const canaries = [
    secrets.share,
    secrets.second,
    secrets.privateKey,
    ...secrets.wrong,
    stack.writeToken,
    stack.readToken,
    stack.vaultTokens.api,
    stack.vaultTokens.agent,
  ];
  const api = new SoakApi(stack, recorder, () => canaries);
  const observer = new FleetObserver(stack, recorder, api);
  late.observer = observer;
  try {
    const fixture = await prepareFixture(stack, secrets, deniedOn);
    const sent = new Map<string, string[]>();
    observer.watchCommandSends((host, text) => sent.set(host, [...(sent.get(host) ?? []), text].slice(-20)));
    observer.start(1000);
    const injector = new FaultInjector(
      {
        stack,
        recorder,
        preflightTimeoutSeconds,
        hostFaultDir: (host) => join(faultRoot, host),
        sentCommands: (host) => sent.get(host) ?? [],
      },
      random.fork('faults'),
    );
    const resource = `/webserver/centralized-certificates/${stack.ccsId}`;
    const driver = new SoakDriver(
      api,
      recorder,
      resource,
      ((options.operationTimeoutSeconds ?? 60) + preflightTimeoutSeconds + 60) * 1000,
      (options.changeWaitSeconds ?? Number.POSITIVE_INFINITY) * 1000,
    );
    const perChange = options.faultsPerChange ?? 1.6;
    const faultDraw = random.fork('fault-count');
    let enabled = false;
    for (let i = 0; i < options.changes && !options.signal?.aborted; i++) {
      const change = planChange(plan, fixture, enabled);
      // The first change enables CCS on a quiet fleet; faults start with the second.
      if (i > 0) injector.inject(Math.floor(perChange) + (faultDraw.chance(perChange % 1) ? 1 : 0));
      await driver.run(change);
      enabled = (await observer.readDesired())?.enabled ?? enabled;
      log(`change ${i + 1}/${options.changes} ${change.kind}; faults ${total(injector.tally.injected)}`);
    }
    log('settling: waiting for faults to end and the fleet to converge');
    await injector.settle();
    await driver.finish();
    await converge(stack, observer, (options.operationTimeoutSeconds ?? 60) * 1000 + 30_000);
    await observer.stop();
    recorder.record({ kind: 'settled' });
    await observer.sample();
    for (const host of hosts) observer.recordHost(host, true);
    await observer.readDesired();
    await readAudit(api, recorder, stack.ccsId);
    await dumpEverything(stack, recorder);
    const history = recorder.history();
    const check = checkHistory(history, { canaries });
    return {
      history,
      check,
      canaries,
      figures: {
        seed: options.seed,
        hosts: hosts.length,
        options: [
          `--faults-per-change ${perChange}`,
          `--preflight-timeout ${preflightTimeoutSeconds}`,
          `--operation-timeout ${options.operationTimeoutSeconds ?? 60}`,
          ...(options.changeWaitSeconds ? [`--change-wait ${options.changeWaitSeconds}`] : []),
        ].join(' '),
        durationSeconds: Math.round((Date.now() - started) / 1000),
        driver: driver.figures,
        faults: injector.tally,
        faultsTotal: total(injector.tally.injected),
        events: history.events.length,
        contractBreaches: api.breaches,
        retriedGets: api.retriedGets,
      },
    };
  } finally {
    await observer.stop();
    await stack.close();
    rmSync(faultRoot, { recursive: true, force: true });
  }
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Share folders with the demo PFX files, a second share account, `C:\ccs` with the files too. */
async function prepareFixture(
  stack: FaultStack,
  secrets: { share: string; second: string; privateKey: string; wrong: string[] },
  deniedOn: string[],
): Promise<SoakFixture> {
  const pfx = readdirSync(stack.share.folder).filter((f) => f.endsWith('.pfx'));
  const copyInto = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    for (const f of pfx) copyFileSync(join(stack.share.folder, f), join(dir, f));
  };
  const folders = ['soak-a', 'soak-b', 'soak-c'];
  for (const folder of folders) copyInto(join(stack.share.folder, folder));
  copyInto(stack.localFolder);
  const second = 'LOCALHOST\\ccs-soak';
  await createShareAccount(join(stack.dir, 'shares'), second, secrets.second, [DEMO_SHARE]);
  return {
    sharePaths: [stack.share.path, ...folders.map((f) => `${stack.share.path}\\${f}`)],
    localPath: 'C:\\ccs',
    deniedOn,
    accounts: [
      { username: stack.share.username, password: secrets.share },
      { username: second, password: secrets.second },
    ],
    privateKeyPassword: secrets.privateKey,
    wrongPasswords: secrets.wrong,
  };
}

/**
 * Until every host applied the desired generation — or, after the first half of the time, every
 * host that has not reports an error (the invariant accepts a host that says why) — or time runs out.
 */
async function converge(stack: FaultStack, observer: FleetObserver, ms: number): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    const desired = await observer.readDesired();
    if (desired) {
      const applied = observer.appliedGenerations();
      const patient = Date.now() - start < ms / 2;
      const behind = stack.hosts.filter(
        (h) => (applied.get(h) ?? 0) !== desired.generation && (patient || !observer.errors.get(h)),
      );
      if (behind.length === 0) return;
    }
    await delay(1000);
  }
}
