/**
 * The local Key Vault endpoint in a process of its own. In Azure, Key Vault's work (signing every
 * command, serving every secret and public-key read, its throttling) is not the Function App's
 * CPU: run beside the API it would be counted as the API's (`API CPU ms/host`), so the benchmark
 * runs it apart, as it runs the storage emulators apart. It answers the benchmark over IPC with
 * its per-operation counts and its CPU.
 *
 * Options come as JSON in BENCH_VAULT_OPTIONS (see VaultOptions).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKeyVaultServer, type LocalKeyVault } from '../../local/keyvault/server.js';
import type { ThrottleOptions } from '../../local/keyvault/throttle.js';
import { deployCommandSigningKey, fleetPrincipals } from '../../local/keyvault/fleet-roles.js';
import { generateAccessToken } from '../../shared/auth/access-tokens.js';
import { rssSampler, serveParent } from './child.js';

/** The JSON-transferable part of the local vault's throttle options. */
export type BenchThrottle = Pick<ThrottleOptions, 'scale' | 'limits' | 'windowMs'>;

export interface VaultOptions {
  /** Key Vault's rate limits on the local vault (local/keyvault/throttle.ts); none when absent. */
  throttle?: BenchThrottle;
}

export interface VaultInfo {
  url: string;
  caCertPath: string;
  /** The API's vault token (it writes secrets, signs commands); the bare calls play the API. */
  apiVaultToken: string;
  agentVaultToken: string;
}

export interface VaultStats {
  /** Requests served, by operation (and `throttled`: the 429s). */
  counts: Record<string, number>;
  cpu: NodeJS.CpuUsage;
  rssPeak: number;
}

const options = JSON.parse(process.env.BENCH_VAULT_OPTIONS ?? '{}') as VaultOptions;
const dir = mkdtempSync(join(tmpdir(), 'ccs-bench-vault-'));
const rss = rssSampler();
let vault: LocalKeyVault | undefined;

serveParent(
  async () => {
    const apiVaultToken = generateAccessToken();
    const agentVaultToken = generateAccessToken();
    vault = await startKeyVaultServer({
      port: 0,
      certDir: join(dir, 'certs'),
      principals: fleetPrincipals({ api: apiVaultToken, agent: agentVaultToken }),
      ...(options.throttle && { throttle: options.throttle }),
    });
    await deployCommandSigningKey(vault);
    const info: VaultInfo = { url: vault.url, caCertPath: vault.caCertPath, apiVaultToken, agentVaultToken };
    return {
      info: () => info,
      stats: (): VaultStats => ({
        counts: vault?.stats() ?? {},
        cpu: process.cpuUsage(),
        rssPeak: rss.peak(),
      }),
      reset: () => {
        vault?.resetStats();
        rss.reset();
        return true;
      },
    };
  },
  async () => {
    await vault?.close();
    rmSync(dir, { recursive: true, force: true });
  },
);
