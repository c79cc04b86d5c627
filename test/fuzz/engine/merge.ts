/**
 * Corpus minimisation (libFuzzer's `-merge=1`): of all the inputs a campaign kept, the smallest
 * set that reaches every block the seeds do not already reach. Inputs are tried smallest first,
 * so each block is held by the smallest input found for it. Hit counts are left out here (the
 * campaign uses them to steer; the committed corpus stays small): this is what gets committed
 * under test/fuzz/corpus/<target>/ and replayed by `npm test`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoverageProbe } from './coverage.js';
import type { FuzzTarget } from './target.js';

/** A feature without its hit-count bucket (see CoverageProbe). */
const blockOf = (feature: number): number => Math.floor(feature / 16);

function features(probe: CoverageProbe, target: FuzzTarget, input: Buffer): number[] {
  probe.take();
  try {
    target.run(input);
  } catch {
    return []; // a finding is a regression test, not corpus
  }
  return probe.take().map(blockOf);
}

/** The inputs to keep, smallest first. */
export function minimiseCorpus(
  probe: CoverageProbe,
  target: FuzzTarget,
  inputs: readonly Buffer[],
): Buffer[] {
  probe.setScope(target.coverage);
  const seen = new Set<number>();
  for (const seed of target.seeds()) for (const f of features(probe, target, seed)) seen.add(f);
  const kept: Buffer[] = [];
  const unique = new Map(inputs.map((b) => [createHash('sha1').update(b).digest('hex'), b]));
  for (const input of [...unique.values()].sort((a, b) => a.length - b.length)) {
    let fresh = false;
    for (const f of features(probe, target, input)) {
      if (!seen.has(f)) {
        seen.add(f);
        fresh = true;
      }
    }
    if (fresh) kept.push(input);
  }
  return kept;
}

/** Replaces the files of `dir` with `inputs`, each named by its SHA-1. */
export function writeCorpus(dir: string, inputs: readonly Buffer[]): void {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) rmSync(join(dir, name));
  for (const input of inputs) {
    writeFileSync(join(dir, createHash('sha1').update(input).digest('hex').slice(0, 16)), input);
  }
}
