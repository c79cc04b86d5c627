/**
 * The storage emulator stopped and started again on the same ports (SIGINT, so Azurite flushes
 * its table database as Azure Storage never loses an acknowledged write). Meanwhile every
 * queue and table call is refused at the socket, as during an Azure Storage outage or a
 * failover; the SDKs retry (shared/adapters/storage.ts) and the API answers 503 with
 * Retry-After once the retries are spent ("Azure Storage: transient faults", Microsoft Learn,
 * Retry guidance for Azure services).
 */
import type { FaultModule } from './fault.js';

export const storageRestart: FaultModule = {
  kind: 'storage-restart',
  scope: 'storage',
  async start(ctx, _target, random) {
    await ctx.stack.azurite.stop();
    return {
      holdMs: random.int(500, 4000),
      async end() {
        await ctx.stack.azurite.start();
        return 'restarted';
      },
    };
  },
};
