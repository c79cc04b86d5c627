/**
 * An agent killed. Half the time it is armed to SIGKILL itself at one of its crash points
 * (agent/crash-points.ts: after receive, after the secrets, after apply, before and after the
 * report) for the next command of a type, the other half it is killed at once wherever it is.
 * Either way the fault stack restarts it after 300 ms, as the Windows service control manager
 * does with a service whose recovery action is "restart the service" (sc.exe failure, the
 * agent's install.ps1 sets it).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CRASH_STEPS } from '../../../agent/crash-points.js';
import type { FaultModule } from './fault.js';

export const agentKill: FaultModule = {
  kind: 'agent-kill',
  scope: 'host',
  async start(ctx, host, random) {
    const agent = ctx.stack.agents.get(host)!;
    const before = agent.exits.length;
    const armed = random.chance(0.5);
    if (armed) {
      await ctx.stack.arm(host, random.pick(CRASH_STEPS), random.pick(['preflight', 'apply']));
    } else {
      agent.child.kill('SIGKILL');
    }
    return {
      holdMs: armed ? random.int(3000, 15_000) : 500,
      async end() {
        if (armed) rmSync(join(ctx.stack.dir, 'agents', `${host}.crash`), { force: true });
        const died = agent.exits.length > before;
        // The restarted agent is given time to start before the host takes another fault.
        if (died) await delay(1000);
        return died ? (armed ? 'crash-point' : 'killed') : 'not-reached';
      },
    };
  },
};
