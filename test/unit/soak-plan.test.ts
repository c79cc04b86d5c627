/**
 * The soak's plan is the seed's: the same seed draws the same changes (so `--seed S` replays a
 * run's plan), every kind of change is drawn over a long run, and a disabled ccs-id is only
 * ever enabled.
 */
import { describe, expect, it } from 'vitest';
import { planChange, type ChangeKind, type SoakFixture } from '../soak/changes.js';
import { Random } from '../soak/random.js';

const fixture: SoakFixture = {
  sharePaths: ['\\\\localhost\\ccs', '\\\\localhost\\ccs\\soak-a'],
  localPath: 'C:\\ccs',
  deniedOn: ['web-04'],
  accounts: [
    { username: 'LOCALHOST\\ccs-reader', password: 'one' },
    { username: 'LOCALHOST\\ccs-soak', password: 'two' },
  ],
  privateKeyPassword: 'pk',
  wrongPasswords: ['wrong'],
};

const plan = (seed: number, n: number) => {
  const random = new Random(seed);
  return Array.from({ length: n }, (_, i) => planChange(random, fixture, i % 5 !== 0));
};

describe('the soak plan', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(plan(20261202, 50)).toEqual(plan(20261202, 50));
    expect(plan(20261202, 50)).not.toEqual(plan(20261203, 50));
  });

  it('draws every kind of change over a long run, and only enables when disabled', () => {
    const kinds = new Set<ChangeKind>(plan(7, 400).map((c) => c.kind));
    expect([...kinds].sort()).toEqual([
      'concurrent-callers',
      'disable',
      'enable',
      'enable-wrong-private-key-password',
      'identity',
      'identity-wrong-password',
      'if-match-race',
      'path',
      'path-refused-on-some-hosts',
      'private-key-password',
      'private-key-password-wrong',
    ]);
    const random = new Random(9);
    for (let i = 0; i < 100; i++) {
      const change = planChange(random, fixture, false);
      expect(change.requests.map((r) => r.method)).toEqual(['POST']);
    }
  });

  it('races callers on one ETag and sends concurrent callers together', () => {
    const changes = plan(11, 300);
    const race = changes.find((c) => c.kind === 'if-match-race')!;
    expect(race.requests.length).toBeGreaterThanOrEqual(2);
    expect(race.requests.every((r) => r.ifMatch && r.method === 'PATCH')).toBe(true);
    const concurrent = changes.find((c) => c.kind === 'concurrent-callers')!;
    expect(concurrent.requests.length).toBeGreaterThanOrEqual(2);
  });
});
