/**
 * `npm run bench` prints its figures beside the old ones (bench/compare.ts): the committed
 * starting point of issue 18 and the previous run's result files.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { comparisonMarkdown, type Figures } from '../../bench/compare.js';

const baseline = JSON.parse(
  readFileSync(new URL('../../bench/baseline.json', import.meta.url), 'utf8'),
) as Omit<Figures, 'label'>;

describe('the benchmark beside the old figures', () => {
  it('puts each fleet row and the idle cost next to the same row of an earlier run', () => {
    const out = comparisonMarkdown(
      {
        fleet: [
          {
            hosts: 100,
            change: 'enable',
            p99Ms: 4800,
            agentOpsPerHost: 8.66,
            apiOpsPerHost: 6,
            apiCpuMsPerHost: 9,
          },
          { hosts: 100, change: 'waves', p99Ms: 11000, agentOpsPerHost: 9, apiOpsPerHost: 11 },
        ],
        idle: {
          requestsPerHostHour: 178.3,
          agentPerHostHour: 131.9,
          apiPerHostHour: 46.4,
          apiPerHello: 3.88,
        },
      },
      [{ label: 'the start', ...baseline }],
    );
    expect(out).toContain('Fleet, the start → this run:');
    expect(out).toMatch(
      /\| 100 \| enable \| 3\.09 s → 4\.80 s \| 6\.9 → 8\.66 \| 12\.12 → 6 \| 19\.02 → 14\.66 \| – → 9 \|/,
    );
    // A change the earlier run did not measure has nothing to stand beside.
    expect(out).not.toContain('| waves |');
    expect(out).toMatch(/\| 179\.5 → 178\.3 \| 132\.5 → 131\.9 \| 46\.9 → 46\.4 \| 3\.88 → 3\.88 \|/);
  });

  it('prints nothing when no earlier run has the same rows', () => {
    const out = comparisonMarkdown(
      { fleet: [{ hosts: 7, change: 'enable', p99Ms: 1, agentOpsPerHost: 1, apiOpsPerHost: 1 }], idle: null },
      [{ label: 'the start', ...baseline }],
    );
    expect(out).toBe('');
  });
});
