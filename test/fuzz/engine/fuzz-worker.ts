/** Worker entry of a fuzzing campaign (campaign.ts starts it): runs fuzzLoop for one target. */
import { parentPort, workerData } from 'node:worker_threads';
import { CoverageProbe } from './coverage.js';
import { SharedInput, fuzzLoop, type LoopEvent } from './fuzz-loop.js';

export interface WorkerInput {
  target: string;
  corpus: Uint8Array[];
  seed: number;
  stopAt: number;
  shared: SharedArrayBuffer;
}

const data = workerData as WorkerInput;
const send = (event: LoopEvent): void => parentPort?.postMessage(event);

// Coverage first, then the targets: their code must be compiled with block counters.
const probe = new CoverageProbe();
const { fuzzTarget } = await import('../targets/index.js');

fuzzLoop({
  target: fuzzTarget(data.target),
  probe,
  corpus: data.corpus.map((c) => Buffer.from(c)),
  seed: data.seed,
  stopAt: data.stopAt,
  shared: new SharedInput(data.shared),
  emit: send,
});
