/**
 * The local Key Vault throttling or failing for a while. Key Vault answers 429 "Throttled" with
 * a Retry-After header when a vault's transaction limit is passed ("Azure Key Vault throttling
 * guidance", Microsoft Learn: 429 Too many requests, clients back off by Retry-After), and 503
 * ServiceUnavailable during a regional incident or failover ("Azure Key Vault availability and
 * redundancy"). The local vault serves injected faults in order, one per request
 * (local/keyvault/server.ts); at the end of the window what is left is used up, so the window
 * closes when the injector says it does.
 */
import { drainVaultFaults } from '../../hardening/support/fault-stack.js';
import type { FaultModule } from './fault.js';

function vaultFault(kind: 'keyvault-throttle' | 'keyvault-outage', status: 429 | 503): FaultModule {
  return {
    kind,
    scope: 'keyvault',
    start(ctx, _target, random) {
      const times = random.int(3, 40);
      ctx.stack.vault.injectFaults({
        status,
        times,
        retryAfterSeconds: status === 429 ? random.int(0, 2) : random.pick([undefined, 1, 2]),
      });
      return Promise.resolve({
        holdMs: random.int(1000, 8000),
        async end() {
          const left = await drainVaultFaults(ctx.stack);
          return left === times ? 'unused' : left === 0 ? 'all served' : 'partly served';
        },
      });
    },
  };
}

export const keyVaultThrottle = vaultFault('keyvault-throttle', 429);
export const keyVaultOutage = vaultFault('keyvault-outage', 503);
