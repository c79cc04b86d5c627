import { describe, expect, it } from 'vitest';
import {
  AZURE_FLEET,
  AZURE_LIMITS,
  estimateRotation,
  MEASURED,
  SIGN_ONE_MANIFEST,
} from '../../bench/scale-model.js';

describe('the 10,000-host scale model', () => {
  it("at 10,000 hosts signing each command binds on Key Vault's key budget", () => {
    const r = estimateRotation({ hosts: 10_000, ...AZURE_FLEET });
    // Preflight: 10,000 signs + 10,000 public-key reads at 400 per second.
    expect(r.preflight.busySeconds['key vault keys']).toBe(50);
    expect(r.preflight.binding).toBe('key vault keys');
    expect(r.preflight.seconds).toBe(50 + AZURE_FLEET.hostLocalSeconds);
    // Commit: 10,000 signs; the fast poll hides nothing of that.
    expect(r.commit.busySeconds['key vault keys']).toBe(25);
    expect(r.seconds).toBe(53 + 28);
  });

  it('one signed manifest per fan-out leaves the pickup window and the reports queue binding', () => {
    const r = estimateRotation({ hosts: 10_000, ...AZURE_FLEET }, MEASURED, AZURE_LIMITS, SIGN_ONE_MANIFEST);
    expect(r.preflight.binding).toBe('polling'); // 25 s of secret reads spread over a 30 s window
    // 10,000 reports, each sent, received and deleted: 30,000 messages at 2,000 per second.
    expect(r.commit.binding).toBe('reports queue');
    expect(r.commit.busySeconds['reports queue']).toBe(15);
    expect(r.seconds).toBe(33 + 18);
  });

  it('a small fleet waits only for its polls and its own work', () => {
    const r = estimateRotation({ hosts: 100, pollMaxSeconds: 2, pollMinSeconds: 0.5, hostLocalSeconds: 0.3 });
    expect(r.preflight.binding).toBe('polling');
    expect(r.commit.binding).toBe('polling');
    expect(r.seconds).toBeCloseTo(2.3 + 0.8, 5);
  });

  it('idle polling takes its share of the storage account first', () => {
    const busy = (pollMaxSeconds: number) =>
      estimateRotation({ hosts: 10_000, pollMaxSeconds, pollMinSeconds: 1, hostLocalSeconds: 0 }).preflight
        .busySeconds['storage account'];
    expect(busy(1)).toBeGreaterThan(busy(30));
  });
});
