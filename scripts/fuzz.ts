/**
 * Coverage-guided fuzzing of the parsers that read untrusted bytes (docs/reliability.md).
 *
 *   npm run fuzz -- --minutes 10                     # every target, 10 minutes each, one after another
 *   npm run fuzz -- --target pkcs12 --minutes 30     # one target (repeat --target for more)
 *   npm run fuzz -- --seed 42 --no-merge             # replayable run; keep the committed corpus as is
 *   npm run fuzz -- --merge-only                     # only re-minimise committed + working corpora
 *
 * Each campaign runs in a worker thread (campaign.ts). Working corpora and findings go to
 * `.local/fuzz/<target>/`; after the run the committed corpus (test/fuzz/corpus/<target>/) is
 * replaced by the minimised union of it and what the run found. Exit code 1 when there is a
 * finding: each one is a file to turn into a fixture and a regression test.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoverageProbe } from '../test/fuzz/engine/coverage.js';

// Started before any parser is loaded, for the corpus merge (see CoverageProbe).
const probe = new CoverageProbe();
const { readCorpus, runCampaign } = await import('../test/fuzz/engine/campaign.js');
const { minimiseCorpus, writeCorpus } = await import('../test/fuzz/engine/merge.js');
const { FUZZ_TARGETS, fuzzTarget } = await import('../test/fuzz/targets/index.js');
type CampaignResult = Awaited<ReturnType<typeof runCampaign>>;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string' },
    'no-merge': { type: 'boolean', default: false },
    'merge-only': { type: 'boolean', default: false },
  },
});

const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('--minutes must be a positive number');
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const targets = values.target ? values.target.map(fuzzTarget) : FUZZ_TARGETS;
const root = new URL('..', import.meta.url).pathname;
const workRoot = join(root, '.local', 'fuzz');

const results: (CampaignResult & { committed: number })[] = [];
/** Replaces the committed corpus by the minimised union of it and the working corpus. */
function merge(target: (typeof targets)[number]): number {
  const committedDir = join(root, 'test', 'fuzz', 'corpus', target.name);
  const inputs = [...readCorpus(committedDir), ...readCorpus(join(workRoot, target.name, 'corpus'))];
  const kept = minimiseCorpus(probe, target, inputs);
  writeCorpus(committedDir, kept);
  return kept.length;
}

if (values['merge-only']) {
  for (const target of targets) console.log(`${target.name}: ${merge(target)} inputs committed`);
  process.exit(0);
}

console.log(`fuzzing ${targets.map((t) => t.name).join(', ')} for ${minutes} min each, seed ${seed}`);
for (const target of targets) {
  const workDir = join(workRoot, target.name);
  const result = await runCampaign({ target, minutes, seed, workDir, log: (l) => console.log(l) });
  const committed = values['no-merge']
    ? readCorpus(join(root, 'test', 'fuzz', 'corpus', target.name)).length
    : merge(target);
  const row = { ...result, committed };
  results.push(row);
  writeFileSync(
    join(workDir, `run-${seed}.json`),
    `${JSON.stringify({ seed, node: process.version, ...row }, null, 2)}\n`,
  );
  console.log(
    `${target.name}: ${result.executions.toLocaleString('en-US')} executions in ${result.seconds} s ` +
      `(${result.cpuSeconds} s CPU), ${result.blocks} blocks, ${result.features} features, ` +
      `corpus ${result.corpus} → ${committed} committed, ${result.findings.length} findings`,
  );
}

const findings = results.flatMap((r) => r.findings);
for (const f of findings) console.log(`FINDING ${f.kind} ${f.signature}\n  ${f.file}`);
process.exitCode = findings.length > 0 ? 1 : 0;
