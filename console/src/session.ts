/**
 * Who is signed in, and the typed client that carries their credentials. A pasted access token
 * lives in sessionStorage only (gone when the tab closes; never in a URL or localStorage); an
 * Entra ID session is MSAL's, also in sessionStorage (entra.ts). Every request asks for the token
 * afresh, so signing out or a renewed Entra token takes effect at once.
 */
import { createCcsClient, type CcsClient, type Schemas } from '../../client/index.js';
import { apiError } from '../../client/errors.js';

export type Caller = Schemas['Caller'];
export type EntraSignIn = Schemas['EntraSignIn'];

export interface Session {
  method: 'token' | 'entra';
  caller: Caller;
  client: CcsClient;
  signOut(): Promise<void>;
}

/** The API this console was served by: same origin, so no CORS and no third-party origin. */
export const API = `${location.origin}/api`;

const TOKEN_KEY = 'ccs.console.token';
/** Set while an Entra sign-in is under way or done, so MSAL is loaded only for those who use it. */
export const ENTRA_KEY = 'ccs.console.entra';

export const anonymousClient = createCcsClient({ api: API, token: () => '' });

export function clientWithToken(token: () => string | Promise<string>): CcsClient {
  return createCcsClient({ api: API, token });
}

export async function whoAmI(client: CcsClient): Promise<Caller> {
  const { data, error, response } = await client.GET('/api/me');
  if (!response.ok || data === undefined) throw apiError(response, error);
  return data;
}

/** The Entra sign-in the API accepts, or null (access tokens only, or no console client id). */
export async function entraSettings(): Promise<EntraSignIn | null> {
  const { data, response } = await anonymousClient.GET('/api/sign-in/entra');
  return response.ok && data?.console_client_id ? data : null;
}

/** Checks a pasted token with GET /api/me and keeps it for this tab. Throws the API's refusal. */
export async function signInWithToken(token: string): Promise<Session> {
  const client = clientWithToken(() => sessionStorage.getItem(TOKEN_KEY) ?? '');
  const caller = await whoAmI(clientWithToken(() => token));
  sessionStorage.setItem(TOKEN_KEY, token);
  return {
    method: 'token',
    caller,
    client,
    signOut: () => Promise.resolve(sessionStorage.removeItem(TOKEN_KEY)),
  };
}

/** The session of a token pasted earlier in this tab, if it is still accepted. */
export async function resumeTokenSession(): Promise<Session | null> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  try {
    return await signInWithToken(token);
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);
    return null;
  }
}
