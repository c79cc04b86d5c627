/**
 * Figures the hardening suites measure about themselves (requests tried, faults injected, secret
 * hits…), written as one JSON file per suite so `scripts/reliability-report.ts` can render
 * docs/reliability.md from what the tests actually did — not from what they were configured to do.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Figure = number | string | boolean;

/** Where the suites write (override with CCS_RELIABILITY_DIR); the report script reads the same place. */
export function resultsDir(): string {
  return process.env.CCS_RELIABILITY_DIR ?? join(tmpdir(), 'ccs-reliability');
}

/** Merge `figures` into `<dir>/<suite>.json` (one file per suite, rewritten on every run). */
export function recordFigures(suite: string, figures: Record<string, Figure>): void {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${suite}.json`);
  const current = existing.get(suite) ?? {};
  Object.assign(current, figures);
  existing.set(suite, current);
  writeFileSync(
    file,
    `${JSON.stringify({ suite, at: new Date().toISOString(), node: process.version, figures: current }, null, 2)}\n`,
  );
}

/** Figures recorded by this process, per suite (a suite's file is rewritten as a whole). */
const existing = new Map<string, Record<string, Figure>>();

/** A counter of things the tests did, recorded at the end of the suite. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  entries(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
