/**
 * The typed client of the CCS API: openapi-fetch over the types openapi-typescript generated from
 * the served OpenAPI document (client/schema.ts, `npm run client`). The console, the `ccs` command
 * line and any cloud caller use this one client; a route or field missing from the document does
 * not compile. Runs in browsers and in Node.js (fetch only).
 */
import createClient from 'openapi-fetch';
import { UnreachableError } from './errors.js';
import type { CcsClient, paths } from './types.js';

export type { CcsClient, components, paths, Schemas } from './types.js';

export interface CcsClientOptions {
  /** The API's base URL, as stack.json and the README write it: `https://<app>.azurewebsites.net/api`. */
  api: string;
  /** The bearer token for each request: an access token, or an Entra ID access token (asked anew each time, so it can renew). */
  token: () => string | Promise<string>;
  /** Another fetch (tests, proxies). */
  fetch?: (request: Request) => Promise<Response>;
}

/** The document's paths start with `/api/` (its server is `/`): the client's base is the API's origin and any prefix before `/api`. */
export function baseUrlOf(api: string): string {
  return api.replace(/\/+$/, '').replace(/\/api$/, '');
}

export function createCcsClient(options: CcsClientOptions): CcsClient {
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const client = createClient<paths>({
    baseUrl: baseUrlOf(options.api),
    // A request that never got an answer is told apart from every answer, refusals included.
    fetch: async (request) => {
      try {
        return await send(request);
      } catch (error) {
        if (request.signal.aborted) throw error;
        throw new UnreachableError(options.api, error);
      }
    },
  });
  client.use({
    async onRequest({ request }) {
      const token = await options.token();
      // No token: an anonymous request (the Entra sign-in settings); the API answers 401 elsewhere.
      if (token !== '') request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  });
  return client;
}
