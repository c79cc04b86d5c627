/**
 * A host's clock off by seconds to ten minutes, either way, for a while (the agent preload,
 * agent-preload.ts, moves its wall clock). Windows Time keeps domain members within a few
 * seconds when it works; a host that lost its time source drifts, and Kerberos refuses more
 * than 5 minutes ("Maximum tolerance for computer clock synchronization", Microsoft Learn).
 * Signed commands carry an issue time the agent checks against its own clock (5 minutes of
 * allowed skew, docs/reliability.md), so both sides of that limit are drawn.
 */
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultModule } from './fault.js';

const SKEWS_SECONDS = [-600, -400, -120, -20, 20, 120, 400, 600];

export const clockSkew: FaultModule = {
  kind: 'clock-skew',
  scope: 'host',
  start(ctx, host, random) {
    const dir = ctx.hostFaultDir(host);
    mkdirSync(dir, { recursive: true });
    const skew = random.pick(SKEWS_SECONDS);
    writeFileSync(join(dir, 'clock-skew'), String(skew * 1000));
    return Promise.resolve({
      holdMs: random.int(2000, 12_000),
      end() {
        rmSync(join(dir, 'clock-skew'), { force: true });
        const side = skew < 0 ? 'behind' : 'ahead';
        return Promise.resolve(`${side} ${Math.abs(skew) > 300 ? 'more' : 'less'} than 5 min`);
      },
    });
  },
};
