/**
 * What a client needs to sign in with Microsoft Entra ID, derived from the API's own settings so
 * that the console (MSAL, authorization code + PKCE) and the `ccs` command line
 * (DefaultAzureCredential) ask for exactly the tokens the API accepts. Public by design: it names
 * a tenant, a client id and a scope, which every sign-in page shows anyway, and no secret.
 */
import type { Config } from '../config.js';

export type SignInConfig = Pick<
  Config,
  'CCS_ENTRA_TENANT_ID' | 'CCS_ENTRA_AUDIENCE' | 'CCS_ENTRA_ISSUER' | 'CCS_CONSOLE_CLIENT_ID'
>;

/** Entra ID sign-in, as GET /api/sign-in/entra shows it. */
export interface EntraSignIn {
  tenant_id: string;
  /** Where MSAL signs in: `https://<login host>/<tenant>`. */
  authority: string;
  /** What to ask a token for: the API's first audience, `/.default` (its app roles come with it). */
  scopes: string[];
  /** The console's app registration, or null when none is known (the console then offers tokens only). */
  console_client_id: string | null;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An issuer of the v2 form `https://<login host>/<tenant>/v2.0` names the login host (sovereign clouds). */
const V2_ISSUER = /^(https:\/\/[^/]+)\/[^/]+\/v2\.0\/?$/;

const entries = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');

/** The Entra sign-in this API accepts, or null when it accepts access tokens only. */
export function entraSignIn(config: SignInConfig): EntraSignIn | null {
  const tenant = config.CCS_ENTRA_TENANT_ID;
  const audiences = entries(config.CCS_ENTRA_AUDIENCE);
  const first = audiences[0];
  if (!tenant || first === undefined) return null;
  const loginHost =
    entries(config.CCS_ENTRA_ISSUER)
      .map((issuer) => V2_ISSUER.exec(issuer)?.[1])
      .find((host) => host !== undefined) ?? 'https://login.microsoftonline.com';
  return {
    tenant_id: tenant,
    authority: `${loginHost}/${tenant}`,
    scopes: [`${first.replace(/\/+$/, '')}/.default`],
    console_client_id: config.CCS_CONSOLE_CLIENT_ID ?? audiences.find((a) => GUID.test(a)) ?? null,
  };
}
