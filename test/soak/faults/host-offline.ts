/**
 * A host offline for longer than the preflight timeout: its agent is frozen (SIGSTOP) — no
 * receive, no report, no TCP traffic — and thawed later, as a host that lost its network or was
 * suspended comes back with its process where it stopped. The API marks it `unreachable` at the
 * preflight deadline and commits without it (docs/operations.md); it catches up when it returns.
 */
import type { FaultModule } from './fault.js';

export const hostOffline: FaultModule = {
  kind: 'host-offline',
  scope: 'host',
  start(ctx, host, random) {
    ctx.stack.pause(host);
    return Promise.resolve({
      holdMs: ctx.preflightTimeoutSeconds * 1000 + random.int(1000, 6000),
      end() {
        ctx.stack.resume(host);
        return Promise.resolve('back');
      },
    });
  },
};
