/**
 * `npm run bench`: runs the benchmarks, writes `bench/results/<name>.json` and prints markdown
 * tables (docs/performance.md explains every figure).
 *
 *   --only fleet,idle,api,inventory   which benchmarks (default: all but `throttled`)
 *   --sizes 10,100,1000               fleet sizes
 *   --poll 0.2,2                      the fleet's poll min,max seconds (the "fast" setting)
 *   --shards 32                       Azurite queue servers behind the queue port (1 = plain)
 *   --kv-scale 0.1                    Key Vault's documented limits × this on the local vault
 *   --queue-scale 0.1                 Queue Storage's documented targets × this (queue routing)
 *   --only throttled --hosts 1000     enable + rotation under both (default scales 0.1)
 *   --files 10000                     PFX files for the inventory
 *   --idle-hosts 20 --idle-scale 120 --idle-hours 1 --idle-hello 300
 *   --api-requests 200
 *   --model-sizes 1000,10000,50000   fleet sizes for the scale model (no processes; a formula)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_QUEUE_SHARDS, runFleet } from './fleet.js';
import { runIdle } from './idle.js';
import { runApi } from './api.js';
import { runInventory } from './inventory.js';
import { runScaleModel } from './scale-model.js';
import { runThrottled } from './throttled.js';
import { markdown, memoryOf, type Results } from './report.js';
import { comparisonMarkdown, fleetFigures, idleFigures, type Figures } from './compare.js';
import type { FleetResult } from './fleet.js';
import type { IdleResult } from './idle.js';

const BENCHMARKS = ['fleet', 'idle', 'api', 'inventory', 'model', 'throttled'] as const;
type Benchmark = (typeof BENCHMARKS)[number];
/** What a plain `npm run bench` runs: the throttled rotation is asked for by name. */
const DEFAULT_BENCHMARKS: Benchmark[] = ['fleet', 'idle', 'api', 'inventory', 'model'];

function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [key, inline] = arg.slice(2).split('=', 2);
    const value = inline ?? argv[++i];
    if (!key || value === undefined) throw new Error(`--${key ?? ''} needs a value`);
    args.set(key, value);
  }
  return args;
}

const numbers = (value: string): number[] => value.split(',').map((v) => Number(v.trim()));

function meta(): Record<string, unknown> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    commit,
  };
}

type Saved<T> = T & { meta?: { commit?: string; date?: string } };

function readSaved<T>(path: string): Saved<T> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Saved<T>;
  } catch {
    return undefined; // a file from an older version or cut short: nothing to compare with
  }
}

/** The previous run's figures on this machine, from the result files this run replaces. */
function previousRun(dir: string): Figures | null {
  const fleet = readSaved<FleetResult>(`${dir}fleet.json`);
  const idle = readSaved<IdleResult>(`${dir}idle.json`);
  const meta = fleet?.meta ?? idle?.meta;
  if (!meta) return null;
  return {
    label: `the previous run here (${meta.commit ?? '?'}, ${meta.date?.slice(0, 16) ?? '?'})`,
    fleet: fleetFigures(fleet),
    idle: idleFigures(idle),
  };
}

/** Issue 18's starting point, committed beside this file. */
function baseline(): Figures {
  const raw = JSON.parse(readFileSync(new URL('baseline.json', import.meta.url), 'utf8')) as Omit<
    Figures,
    'label'
  > & { commit: string };
  return { label: `issue 18's starting point (${raw.commit})`, fleet: raw.fleet, idle: raw.idle };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const only = (args.get('only')?.split(',') ?? DEFAULT_BENCHMARKS) as Benchmark[];
  for (const name of only) if (!BENCHMARKS.includes(name)) throw new Error(`unknown benchmark ${name}`);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dir = fileURLToPath(new URL('results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const save = (name: string, result: unknown, started: Record<string, unknown>) =>
    writeFileSync(
      `${dir}${name}.json`,
      `${JSON.stringify({ ...(result as object), meta: { ...started, loadAverageAfter: loadavg() } }, null, 2)}\n`,
    );
  const earlier = [baseline(), previousRun(dir)].filter((f): f is Figures => f !== null);
  const results: Results = {};
  let modelTable = '';
  const [pollMin, pollMax] = numbers(args.get('poll') ?? '0.2,2');
  for (const name of only) {
    const started = meta();
    const t = Date.now();
    log(`${name}…`);
    if (name === 'fleet') {
      results.fleet = await runFleet({
        sizes: numbers(args.get('sizes') ?? '10,100,1000'),
        pollMinSeconds: pollMin,
        pollMaxSeconds: pollMax,
        queueShards: Number(args.get('shards') ?? DEFAULT_QUEUE_SHARDS),
        ...(args.has('kv-scale') && { keyVaultThrottle: { scale: Number(args.get('kv-scale')) } }),
        ...(args.has('queue-scale') && { queueThrottle: { scale: Number(args.get('queue-scale')) } }),
        log,
      });
      save('fleet', results.fleet, started);
    } else if (name === 'throttled') {
      results.throttled = await runThrottled({
        hosts: Number(args.get('hosts') ?? 1000),
        kvScale: Number(args.get('kv-scale') ?? 0.1),
        queueScale: Number(args.get('queue-scale') ?? 0.1),
        pollMinSeconds: pollMin,
        pollMaxSeconds: pollMax,
        queueShards: Number(args.get('shards') ?? DEFAULT_QUEUE_SHARDS),
        log,
      });
      save('throttled', results.throttled, started);
    } else if (name === 'idle') {
      results.idle = await runIdle({
        hosts: Number(args.get('idle-hosts') ?? 20),
        scale: Number(args.get('idle-scale') ?? 120),
        simulatedSeconds: Number(args.get('idle-hours') ?? 1) * 3600,
        ...(args.has('idle-hello') && { helloIntervalSeconds: Number(args.get('idle-hello')) }),
        log,
      });
      save('idle', results.idle, started);
    } else if (name === 'api') {
      results.api = await runApi({ requests: Number(args.get('api-requests') ?? 200), log });
      save('api', results.api, started);
    } else if (name === 'model') {
      const model = runScaleModel(numbers(args.get('model-sizes') ?? '1000,10000,50000'));
      save('scale-model', model, started);
      modelTable = `\n### Scale model (rotation, Azure limits)\n\n${model.table}\n`;
    } else {
      results.inventory = await runInventory({ files: Number(args.get('files') ?? 10_000), log });
      save('inventory', results.inventory, started);
    }
    log(`${name} done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  results.memory = memoryOf(results);
  if (results.memory.host || results.memory.agent) save('memory', results.memory, meta());
  const beside = comparisonMarkdown(
    { fleet: fleetFigures(results.fleet), idle: idleFigures(results.idle) },
    earlier,
  );
  process.stdout.write(`${markdown(results)}\n${modelTable}${beside ? `\n${beside}` : ''}`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
