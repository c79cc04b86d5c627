/**
 * Where the API is and who `ccs` is to it. The API: `--api`, else CCS_API, else `.local/stack.json`
 * of the local stack (found from the current folder upwards, or in CCS_LOCAL_DIR). The
 * credentials: CCS_TOKEN; else the local stack's write token — only for that stack's own API, never
 * sent elsewhere; else Microsoft Entra ID through DefaultAzureCredential (az login, a managed
 * identity, environment credentials…) for the scope in `--scope`/CCS_SCOPE or, by default, the
 * one the API publishes (GET /api/sign-in/entra).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createCcsClient, type CcsClient } from '../client/index.js';
import { CliError, EXIT } from './exit-codes.js';

export interface ConnectionOptions {
  api?: string;
  scope?: string;
}

interface LocalStack {
  api: string;
  accessToken: string;
}

function findStackFile(env: NodeJS.ProcessEnv, cwd: string): string | null {
  if (env.CCS_LOCAL_DIR) {
    const file = resolve(cwd, env.CCS_LOCAL_DIR, 'stack.json');
    return existsSync(file) ? file : null;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, '.local', 'stack.json');
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) return null;
  }
}

function localStack(env: NodeJS.ProcessEnv, cwd: string): LocalStack | null {
  const file = findStackFile(env, cwd);
  if (!file) return null;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalStack>;
    return typeof info.api === 'string' && typeof info.accessToken === 'string'
      ? { api: info.api, accessToken: info.accessToken }
      : null;
  } catch {
    return null;
  }
}

const same = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

async function entraToken(api: string, scope: string | undefined): Promise<() => Promise<string>> {
  let scopes = scope ? [scope] : undefined;
  if (!scopes) {
    const anonymous = createCcsClient({ api, token: () => '' });
    const { data, response } = await anonymous.GET('/api/sign-in/entra');
    if (!response.ok || !data) {
      throw new CliError(
        'No credentials: set CCS_TOKEN to an access token',
        EXIT.auth,
        response.status === 404
          ? 'This API accepts access tokens only.'
          : 'Or set CCS_SCOPE to the API scope for an Entra ID token.',
      );
    }
    scopes = data.scopes;
  }
  const { DefaultAzureCredential } = await import('@azure/identity');
  const credential = new DefaultAzureCredential();
  return async () => {
    try {
      const token = await credential.getToken(scopes);
      return token.token;
    } catch (error) {
      throw new CliError(
        `Entra ID sign-in failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
        EXIT.auth,
        'Sign in with `az login` (or set CCS_TOKEN to an access token).',
      );
    }
  };
}

export interface Connection {
  api: string;
  client: CcsClient;
}

export async function connect(
  options: ConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<Connection> {
  const stack = localStack(env, cwd);
  const api = options.api ?? env.CCS_API ?? stack?.api;
  if (!api) {
    throw new CliError(
      'No API: give --api <url> or set CCS_API (e.g. https://<app>.azurewebsites.net/api)',
      EXIT.invalidInput,
      'Or start the local stack (npm start) and run ccs in the project.',
    );
  }
  if (!/^https?:\/\//.test(api))
    throw new CliError(`--api must be an http(s) URL, not "${api}"`, EXIT.invalidInput);
  const fixed = env.CCS_TOKEN ?? (stack && same(stack.api, api) ? stack.accessToken : undefined);
  const token = fixed !== undefined ? () => fixed : await entraToken(api, options.scope ?? env.CCS_SCOPE);
  return { api, client: createCcsClient({ api, token }) };
}
