/**
 * The OpenAPI document exactly as the API serves it: fetched over HTTP from `GET /api/openapi.json`
 * — of a running API (`--api`, with a token), or of the API's own handlers served in-process by
 * the local host on an ephemeral port, with a throwaway access token. Nothing in-process touches
 * storage or Key Vault: serving the document needs neither.
 */
import { generateAccessToken, hashAccessToken } from '../../shared/auth/access-tokens.js';
import { parseConfig } from '../../shared/config.js';
import { silentLogger } from '../../shared/log.js';
import { createAppWiring, setAppContext } from '../../functions/app-context.js';
import '../../functions/index.js';
import { startHttpHost } from '../../local/http-host.js';

/** GET `<api>/openapi.json` with the token; throws naming the status when it is not 200. */
export async function fetchDocument(api: string, token: string): Promise<unknown> {
  const res = await fetch(`${api.replace(/\/+$/, '')}/openapi.json`, {
    headers: { 'Access-Token': `Bearer ${token}` },
  });
  if (res.status !== 200)
    throw new Error(`GET ${api}/openapi.json answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** The document served by this tree's handlers, over HTTP, from an in-process host. */
export async function servedDocument(): Promise<unknown> {
  const token = generateAccessToken();
  const config = parseConfig({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    CCS_KEY_VAULT_URL: 'https://127.0.0.1:1',
    CCS_KEY_VAULT_LOCAL_TOKEN: 'unused',
    CCS_ALLOWED_LOCATIONS: '[]',
    CCS_API_KEYS: JSON.stringify([
      { name: 'client-generator', role: 'read', sha256: hashAccessToken(token) },
    ]),
  });
  setAppContext(createAppWiring(config, { log: silentLogger }).app);
  const host = await startHttpHost({ port: 0, log: silentLogger });
  try {
    return await fetchDocument(host.url, token);
  } finally {
    await new Promise<void>((done) => host.server.close(() => done()));
    setAppContext(undefined);
  }
}
