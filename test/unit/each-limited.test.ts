import { describe, expect, it } from 'vitest';
import { eachLimited } from '../../shared/each-limited.js';

describe('eachLimited', () => {
  it('runs every item once, at most `limit` at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await eachLimited([...Array(50).keys()], 4, async (i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(i);
      inFlight--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    expect(most).toBe(4);
  });

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    await expect(
      eachLimited([...Array(50).keys()], 2, async (i) => {
        started.push(i);
        await Promise.resolve();
        if (i === 3) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });
});
