/**
 * Runs the local Key Vault endpoint on its own:
 *   CCS_LOCAL_KEYVAULT_TOKEN=… tsx local/keyvault/main.ts --port 8443 --data .local/keyvault.json --certs .local/certs
 * Prints the vault URL and the CA certificate path (for CCS_KEY_VAULT_URL and
 * CCS_KEY_VAULT_CA_FILE). The token comes from the environment so it stays out of `ps`.
 */
import { parseArgs } from 'node:util';
import { startKeyVaultServer } from './server.js';

function fail(message: string): never {
  process.stderr.write(`local keyvault: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8443' },
    data: { type: 'string' },
    certs: { type: 'string', default: '.local/certs' },
    tenant: { type: 'string' },
  },
  strict: true,
});

const token = process.env.CCS_LOCAL_KEYVAULT_TOKEN;
if (!token) fail('set CCS_LOCAL_KEYVAULT_TOKEN to the bearer token clients will use');
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0-65535`);

const vault = await startKeyVaultServer({
  port,
  certDir: values.certs,
  acceptedTokens: [token],
  ...(values.data !== undefined && { dataFile: values.data }),
  ...(values.tenant !== undefined && { tenantId: values.tenant }),
});
process.stdout.write(`Local Key Vault: ${vault.url}\nCA certificate: ${vault.caCertPath}\n`);
if (values.data === undefined) process.stdout.write('No --data file: secrets are kept in memory only.\n');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    vault.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
