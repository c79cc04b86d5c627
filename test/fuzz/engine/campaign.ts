/**
 * One target's fuzzing campaign: a worker thread runs the loop; this side keeps the working
 * corpus and the findings on disk and watches the worker. A worker whose execution counter stops
 * for `hangMs` of CPU time is hung: the input in shared memory is saved as a `hang` finding and the worker
 * is replaced. A worker that dies (V8 heap limit, `resourceLimits`) leaves an `oom` finding
 * the same way; so does one whose process RSS passes `maxRssBytes` (Buffers live outside the
 * V8 heap). The replacement continues from the corpus found so far.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SharedInput, type LoopEvent } from './fuzz-loop.js';
import type { FuzzTarget } from './target.js';
import type { WorkerInput } from './fuzz-worker.js';

export interface CampaignOptions {
  readonly target: FuzzTarget;
  readonly minutes: number;
  readonly seed: number;
  /** Working folder: `corpus/` (every input kept) and `findings/`. */
  readonly workDir: string;
  readonly hangMs?: number;
  readonly heapLimitMb?: number;
  readonly maxRssBytes?: number;
  readonly log?: (line: string) => void;
}

export interface Finding {
  readonly kind: 'crash' | 'hang' | 'oom';
  readonly file: string;
  readonly signature: string;
}

export interface CampaignResult {
  readonly target: string;
  readonly seconds: number;
  /** CPU time the campaign got (worker and this thread): on a shared machine at nice 19, less. */
  readonly cpuSeconds: number;
  readonly executions: number;
  readonly blocks: number;
  readonly features: number;
  readonly corpus: number;
  readonly workerRestarts: number;
  readonly findings: Finding[];
}

/** Loader hooks are not inherited by workers: the worker registers tsx itself, then loads the loop. */
const WORKER_BOOTSTRAP = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(
  new URL('./fuzz-worker.ts', import.meta.url).href,
)}); })`;

/**
 * Hangs are measured in CPU time of this process (the worker's thread included), not wall time:
 * on a shared machine at `nice -n 19`, a worker can go without the CPU for seconds.
 */
const cpuMs = (used: NodeJS.CpuUsage): number => (used.user + used.system) / 1000;

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

/** Every file of a corpus folder (missing folder: none). */
export function readCorpus(dir: string): Buffer[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => readFileSync(join(dir, name)));
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const { target, workDir } = options;
  const log = options.log ?? (() => undefined);
  const corpusDir = join(workDir, 'corpus');
  const findingsDir = join(workDir, 'findings');
  mkdirSync(corpusDir, { recursive: true });
  mkdirSync(findingsDir, { recursive: true });
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const stopAt = started + options.minutes * 60_000;
  const findings: Finding[] = [];
  let executions = 0;
  let last: Extract<LoopEvent, { kind: 'stats' }> = {
    kind: 'stats',
    executions: 0,
    blocks: 0,
    features: 0,
    corpus: 0,
  };
  let restarts = -1;

  const saveFinding = (kind: Finding['kind'], input: Buffer, signature: string, detail: string): void => {
    const file = join(findingsDir, `${kind}-${sha1(input).slice(0, 12)}`);
    writeFileSync(file, input);
    writeFileSync(`${file}.txt`, `${signature}\n\n${detail}\n`);
    findings.push({ kind, file, signature });
    log(`${target.name}: ${kind} ${signature} (${input.length} bytes) -> ${file}`);
  };

  while (Date.now() < stopAt - 1000) {
    restarts++;
    const shared = SharedInput.create(target.maxLength);
    const corpus = [...target.seeds(), ...readCorpus(corpusDir)];
    const data: WorkerInput = {
      target: target.name,
      corpus,
      seed: options.seed + restarts,
      stopAt,
      shared: shared.buffer,
    };
    const worker = new Worker(WORKER_BOOTSTRAP, {
      eval: true,
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: options.heapLimitMb ?? 1024 },
    });
    const base = executions;
    const outcome = await new Promise<'done' | 'hang' | 'oom' | 'rss'>((resolve, reject) => {
      let progress = shared.executions;
      let still = process.cpuUsage();
      const watchdog = setInterval(() => {
        const now = shared.executions;
        if (now !== progress) {
          progress = now;
          still = process.cpuUsage();
        } else if (cpuMs(process.cpuUsage(still)) > (options.hangMs ?? 10_000)) {
          resolve('hang');
        }
        if (process.memoryUsage.rss() > (options.maxRssBytes ?? 3 * 1024 ** 3)) resolve('rss');
      }, 250);
      worker.on('message', (event: LoopEvent) => {
        if (event.kind === 'input') {
          const input = Buffer.from(event.input);
          writeFileSync(join(corpusDir, sha1(input)), input);
        } else if (event.kind === 'finding') {
          saveFinding('crash', Buffer.from(event.input), event.signature, event.detail);
        } else {
          last = event;
          executions = base + event.executions;
        }
      });
      worker.on('error', (error: Error & { code?: string }) => {
        log(`${target.name}: worker died: ${String(error)}`);
        if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') resolve('oom');
        else reject(error);
      });
      worker.on('exit', () => resolve('done'));
      worker.once('exit', () => clearInterval(watchdog));
    });
    const input = shared.current();
    await worker.terminate();
    if (outcome === 'hang')
      saveFinding('hang', input, `no progress for ${options.hangMs ?? 10_000} ms of CPU time`, '');
    if (outcome === 'oom' || outcome === 'rss') saveFinding('oom', input, `memory limit (${outcome})`, '');
    executions = Math.max(executions, base + shared.executions);
  }
  return {
    target: target.name,
    seconds: Math.round((Date.now() - started) / 1000),
    cpuSeconds: Math.round(cpuMs(process.cpuUsage(cpuAtStart)) / 1000),
    executions,
    blocks: last.blocks,
    features: last.features,
    corpus: readCorpus(corpusDir).length,
    workerRestarts: restarts,
    findings,
  };
}
