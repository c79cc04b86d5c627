/** shared/group-commit.ts: what is added together is flushed together, per key, at most `max` at once. */
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../shared/group-commit.js';

/** A flush that records its groups and waits until released. */
function recorder() {
  const groups: string[][] = [];
  const releases: (() => void)[] = [];
  const flush = async (key: string, items: number[]) => {
    groups.push(items.map((i) => `${key}${i}`));
    await new Promise<void>((resolve) => releases.push(resolve));
    if (items.includes(-1)) throw new Error('refused');
    return items.map((i) => i * 10);
  };
  return { groups, releases, flush };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('flushes what was added together once, per key, and what came meanwhile in the next flush', async () => {
    const r = recorder();
    const commits = new GroupCommit(r.flush, 100);
    const first = [commits.add('a', 1), commits.add('a', 2), commits.add('b', 1)];
    await tick();
    expect(r.groups).toEqual([['a1', 'a2'], ['b1']]);
    // Added while a's flush is in flight: waits for it, then goes together.
    const later = [commits.add('a', 3), commits.add('a', 4)];
    await tick();
    expect(r.groups).toHaveLength(2);
    r.releases.splice(0).forEach((release) => release());
    expect(await Promise.all(first)).toEqual([10, 20, 10]);
    await tick();
    expect(r.groups[2]).toEqual(['a3', 'a4']);
    r.releases.splice(0).forEach((release) => release());
    expect(await Promise.all(later)).toEqual([30, 40]);
  });

  it('takes at most `max` items per flush, and a failed flush fails only its own items', async () => {
    const r = recorder();
    const commits = new GroupCommit(r.flush, 2);
    const results = [1, -1, 3].map((i) => commits.add('k', i).catch((e: Error) => e.message));
    await tick();
    expect(r.groups).toEqual([['k1', 'k-1']]);
    r.releases.splice(0).forEach((release) => release());
    await tick();
    await tick();
    expect(r.groups[1]).toEqual(['k3']);
    r.releases.splice(0).forEach((release) => release());
    expect(await Promise.all(results)).toEqual(['refused', 'refused', 30]);
  });
});
