/**
 * The disk that holds a host's state file is full for a while: every write to the agent's state
 * folder fails with ENOSPC (agent-preload.ts; on Windows, ERROR_DISK_FULL, which libuv maps to
 * ENOSPC). The agent cannot persist the generation it applied, so the command stays on the queue
 * and is handled again when the disk has room.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultModule } from './fault.js';

export const diskFull: FaultModule = {
  kind: 'disk-full',
  scope: 'host',
  start(ctx, host, random) {
    const dir = ctx.hostFaultDir(host);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'disk-full'), '');
    return Promise.resolve({
      holdMs: random.int(1500, 10_000),
      end() {
        rmSync(join(dir, 'disk-full'), { force: true });
        return Promise.resolve('freed');
      },
    });
  },
};
