/**
 * The agent preload of the soak (faults/agent-preload.ts) in a real Node process, as agents load
 * it: the wall clock moves by the skew written for the host, and while the disk is full every
 * write under the state folder fails with ENOSPC — and the agent's atomic write leaves no
 * temporary file behind (the soak found one per attempt), while writes elsewhere succeed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ccs-preload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROBE = `
import { writeFileAtomic } from ${JSON.stringify(new URL('../../agent/atomic-file.ts', import.meta.url).pathname)};
const real = performance.timeOrigin + performance.now();
const outcome = async (path) => writeFileAtomic(path, 'x').then(() => 'ok', (e) => e.code);
console.log(JSON.stringify({
  skewMs: Date.now() - real,
  newDateSkewMs: new Date().getTime() - real,
  state: await outcome(process.env.CCS_SOAK_STATE_DIR + '/applied.json'),
  elsewhere: await outcome(${JSON.stringify(join(dir, 'other.json'))}),
}));
`;

describe('the soak agent preload', () => {
  it('skews the wall clock and fills the state disk, and a failed atomic write leaves nothing', async () => {
    const faults = join(dir, 'faults');
    const state = join(dir, 'state');
    mkdirSync(faults, { recursive: true });
    mkdirSync(state, { recursive: true });
    writeFileSync(join(faults, 'clock-skew'), '-600000');
    writeFileSync(join(faults, 'disk-full'), '');
    const probe = join(dir, 'probe.mjs');
    writeFileSync(probe, PROBE);
    const preload = new URL('./faults/agent-preload.ts', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--import', preload, probe],
      { env: { ...process.env, CCS_SOAK_FAULT_DIR: faults, CCS_SOAK_STATE_DIR: state } },
    );
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    // The reference (performance.timeOrigin + now) is the monotonic clock, which drifts from the
    // wall clock by up to a second on a loaded VM (seen in CI: -599.4 s): compare to the skew's
    // ten minutes within a few seconds, not to the millisecond.
    expect(Math.abs((seen.skewMs as number) + 600_000)).toBeLessThan(5_000);
    expect(Math.abs((seen.newDateSkewMs as number) + 600_000)).toBeLessThan(5_000);
    expect(seen).toMatchObject({ state: 'ENOSPC', elsewhere: 'ok' });
    expect(readdirSync(state)).toEqual([]);
  });
});
