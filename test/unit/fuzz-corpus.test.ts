/**
 * Replays every fuzz target's seeds, its committed corpus (test/fuzz/corpus/<target>/, the
 * minimised inputs of past `npm run fuzz` runs) and its regression inputs (test/fixtures/fuzz/
 * <target>/, what fuzzing found and was fixed): none may be a finding. Also shows that the
 * engine is coverage-guided: it finds a branch that random inputs practically never reach.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCorpus } from '../fuzz/engine/campaign.js';
import { FUZZ_TARGETS } from '../fuzz/targets/index.js';

const corpusDir = (name: string): string => new URL(`../fuzz/corpus/${name}/`, import.meta.url).pathname;
const regressionDir = (name: string): string =>
  new URL(`../fixtures/fuzz/${name}/`, import.meta.url).pathname;

describe.each(FUZZ_TARGETS.map((t) => [t.name, t] as const))('fuzz target %s', (_name, target) => {
  it('accepts or refuses each seed without a finding', () => {
    const seeds = target.seeds();
    expect(seeds.length).toBeGreaterThan(0);
    for (const seed of seeds) target.run(seed);
  });

  it('replays its committed corpus without a finding', () => {
    for (const input of readCorpus(corpusDir(target.name))) target.run(input);
  });

  it('replays the inputs fuzzing found (fixed since) without a finding', () => {
    for (const input of readCorpus(regressionDir(target.name))) target.run(input);
  });
});

describe('the fuzzing engine', () => {
  it('every target has a committed corpus, and every corpus a target', () => {
    const committed = readdirSync(new URL('../fuzz/corpus/', import.meta.url), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(committed.sort()).toEqual(FUZZ_TARGETS.map((t) => t.name).sort());
  });

  it('reaches, by coverage, a branch behind two magic bytes (random bytes: 1 in 65,536)', () => {
    const script = new URL('../fuzz/engine/self-check.ts', import.meta.url).pathname;
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as {
      found: string | null;
      keptFirstByte: boolean;
      executions: number;
    };
    expect(result.found).toBe('FZ');
    // Through the corpus: the input that got past the first byte was kept for its coverage.
    expect(result.keptFirstByte).toBe(true);
  });
});
