/**
 * Shows that the engine is coverage-guided, in a process of its own (a test runner's module
 * loader hides code from V8's coverage): a branch behind two magic bytes, which random 2-byte
 * inputs reach once in 65,536 tries, is found by keeping the input that got past the first byte.
 * With the default seed it takes about 1,000 executions (the run is deterministic for a seed).
 * Usage: self-check.ts [maxExecutions=20000] [seed=3]. Prints one JSON line;
 * test/unit/fuzz-corpus.test.ts runs it.
 */
import { CoverageProbe } from './coverage.js';
import type { LoopEvent } from './fuzz-loop.js';

const probe = new CoverageProbe();
const { SharedInput, fuzzLoop } = await import('./fuzz-loop.js');
const { FuzzFinding } = await import('./target.js');

/** The code under test: compiled after the probe started, like every target's. */
function magicBranch(input: Buffer): void {
  if (input[0] === 0x46) {
    if (input[1] === 0x5a) throw new FuzzFinding('magic reached');
  }
}

const events: LoopEvent[] = [];
const maxExecutions = Number(process.argv[2] ?? 20_000);
fuzzLoop({
  target: {
    name: 'magic',
    description: 'a nested branch',
    seeds: () => [Buffer.from('??')],
    run: magicBranch,
    coverage: [new URL(import.meta.url).pathname],
    maxLength: 2,
  },
  probe,
  corpus: [Buffer.from('??')],
  seed: Number(process.argv[3] ?? 3),
  stopAt: Number.POSITIVE_INFINITY,
  maxExecutions,
  stopOnFinding: true,
  shared: SharedInput.create(2),
  emit: (e) => events.push(e),
});
probe.disconnect();
const finding = events.find((e) => e.kind === 'finding');
const stats = events.filter((e) => e.kind === 'stats').at(-1);
console.log(
  JSON.stringify({
    found: finding?.kind === 'finding' ? finding.input.toString('latin1') : null,
    keptFirstByte: events.some((e) => e.kind === 'input' && e.input[0] === 0x46),
    executions: stats?.kind === 'stats' ? stats.executions : null,
  }),
);
