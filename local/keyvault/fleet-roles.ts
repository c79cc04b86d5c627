/**
 * Who may do what in the local vault when it serves the whole system — the same role assignments
 * infra/app/rbac.bicep makes in Azure — and the command-signing key a deployment creates
 * (infra/app/keyvault.bicep). Used by the local stack, the test harnesses and the benchmarks, so
 * all of them run with an agent identity that cannot sign.
 */
import { secretName } from '../../shared/names.js';
import { sourceNamePrefix } from '../../shared/publishing/source-access.js';
import { COMMAND_SIGNING_KEY } from '../../shared/signing.js';
import type { RoleAssignment, VaultPrincipal } from './rbac.js';
import type { KeyDeployment, LocalKeyVault } from './server.js';

const signingKeyScope = `/keys/${COMMAND_SIGNING_KEY}`;

/** The API writes the CCS passwords (Secrets Officer) and signs commands (Crypto User on the key). */
export const API_ROLES: RoleAssignment[] = [
  { role: 'Key Vault Secrets Officer', scope: '/' },
  // The publishing sources: certificate metadata only (never the secret holding the key).
  { role: 'Key Vault Reader', scope: '/' },
  { role: 'Key Vault Crypto User', scope: signingKeyScope },
];

/**
 * Agents read the secret versions commands reference (Secrets User) and the signing key's public
 * part (Reader on the key: `keys/read` only — no sign, no wrap). Vault scope for secrets: they are
 * created at run time, so no assignment can name them in advance.
 */
export const AGENT_ROLES: RoleAssignment[] = [
  { role: 'Key Vault Secrets User', scope: '/' },
  { role: 'Key Vault Reader', scope: signingKeyScope },
];

/**
 * The condition infra/app/fleet-rbac.bicep puts on one fleet's Secrets User assignment: read only
 * that ccs-id's two secrets (whole names: ccs-id `a` must not reach `a-b`'s) and the secrets of
 * its publishing sources, the certificates named `ccs-<ccs-id>--…` (a certificate's PFX is its
 * managed secret of the same name; shared/publishing/source-access.ts says why a name rule and
 * not tags). The Bicep test checks that the compiled template carries the same text.
 */
export function ownSecretsCondition(ccsId: string): string {
  const [identity, privateKey] = [
    secretName(ccsId, 'identity-password'),
    secretName(ccsId, 'private-key-password'),
  ];
  return [
    '(',
    ' (',
    "  !(ActionMatches{'Microsoft.KeyVault/vaults/secrets/getSecret/action'})",
    '  AND',
    "  !(ActionMatches{'Microsoft.KeyVault/vaults/secrets/readMetadata/action'})",
    ' )',
    ' OR',
    ' (',
    `  @Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals '${identity}'`,
    '  OR',
    `  @Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals '${privateKey}'`,
    '  OR',
    `  @Resource[Microsoft.KeyVault/vaults/secrets:name] StringStartsWith '${sourceNamePrefix(ccsId)}'`,
    ' )',
    ')',
  ].join('\n');
}

/** One fleet's agents (a group per ccs-id in Azure): its own two secrets and sources' PFX, the signing key's public part. */
export function fleetAgentRoles(ccsId: string): RoleAssignment[] {
  return [
    { role: 'Key Vault Secrets User', scope: '/', condition: ownSecretsCondition(ccsId) },
    { role: 'Key Vault Reader', scope: signingKeyScope },
  ];
}

/** The command-signing key as the deployment creates it: EC P-256, sign and verify only. */
export const COMMAND_SIGNING_KEY_DEPLOYMENT: KeyDeployment = {
  name: COMMAND_SIGNING_KEY,
  kty: 'EC',
  crv: 'P-256',
  keyOps: ['sign', 'verify'],
};

/** The operator who creates and renews certificates in the vault (win-acme, the CA integration, a person). */
export const OPERATOR_ROLES: RoleAssignment[] = [{ role: 'Key Vault Certificates Officer', scope: '/' }];

/**
 * The API, the agents and (with its token) the certificates' operator. With `ccsId`, the agents
 * are that one fleet's group (its own secrets and sources only, as `fleets` deploys in Azure);
 * without, the fleet-wide group (every secret).
 */
export function fleetPrincipals(
  tokens: { api: string; agent: string; operator?: string },
  ccsId?: string,
): VaultPrincipal[] {
  return [
    { name: 'api', token: tokens.api, roles: API_ROLES },
    { name: 'agents', token: tokens.agent, roles: ccsId ? fleetAgentRoles(ccsId) : AGENT_ROLES },
    ...(tokens.operator ? [{ name: 'operator', token: tokens.operator, roles: OPERATOR_ROLES }] : []),
  ];
}

/** Creates the command-signing key if the vault has none (as a deployment would). */
export async function deployCommandSigningKey(vault: LocalKeyVault): Promise<void> {
  await vault.deployKey(COMMAND_SIGNING_KEY_DEPLOYMENT);
}
