/**
 * The seeded mini-soak of `npm test` (issue 22): the whole soak — real Azurite processes, the
 * local Key Vault, the API, two real agent processes — with a few changes and faults, checked
 * by the same invariants as `npm run soak`. Its seed is the first one that found a bug (an
 * operation that failed its preflight left every host's apply `pending` for ever; now
 * `skipped`, shared/services/operation-closing.ts). No timing is asserted: only the history.
 */
import { describe, expect, it } from 'vitest';
import { formatViolations } from './checker.js';
import { runSoak } from './run.js';

describe('the seeded mini-soak', () => {
  it('ends with no invariant violated and every answer as the OpenAPI document says', async () => {
    const result = await runSoak({
      hosts: 2,
      changes: 5,
      seed: 1,
      faultsPerChange: 1.5,
      preflightTimeoutSeconds: 4,
      operationTimeoutSeconds: 30,
    });
    expect(result.check.violations, formatViolations(result.history, result.check)).toEqual([]);
    expect(result.figures.contractBreaches).toEqual([]);
    // It did what it says: changes through the API, operations followed to their end, faults.
    expect(result.figures.driver.requests).toBeGreaterThanOrEqual(5);
    expect(Object.keys(result.figures.driver.operations).length).toBeGreaterThan(0);
    expect(result.figures.faultsTotal).toBeGreaterThan(0);
  }, 300_000);
});
