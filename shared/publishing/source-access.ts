/**
 * Which Key Vault certificates a ccs-id's agents may read, so that the elected publisher can
 * fetch its sources' PFX (docs/deploy.md, "Least privilege per ccs-id").
 *
 * A certificate's PFX is its managed secret, named as the certificate. Key Vault's role-assignment
 * conditions (ABAC, preview) apply to secret data actions only and know two attributes, the vault
 * name and the secret name — no tags, no certificate attributes; every string operator is
 * case-sensitive ("Actions and attributes for Azure Key Vault ABAC conditions", learn.microsoft.com/
 * azure/key-vault/general/rbac-abac; "Key Vault Certificate User … the secret name equals the
 * certificate name"). So a per-ccs-id agent group reads its sources through a name rule: its
 * Secrets User condition allows `StringStartsWith 'ccs-<ccs-id>--'` besides its two passwords
 * (local/keyvault/fleet-roles.ts, infra/app/fleet-rbac.bicep), and with `CCS_AGENT_ACCESS=per-ccs-id`
 * the API takes as a source of that ccs-id only a certificate named that way.
 *
 * A ccs-id never holds `--` (shared/names.ts), so `ccs-fleet-a--` is a prefix of no name of
 * `fleet-a-b`'s (`ccs-fleet-a-b--…`), and neither password secret (`ccs-<ccs-id>-identity-password`)
 * matches it.
 */

/** How the deployment gives agents Key Vault: one group for all (`agentPrincipalId`) or one per ccs-id (`fleets`). */
export type AgentAccess = 'fleet-wide' | 'per-ccs-id';

export const AGENT_ACCESS_MODES: readonly AgentAccess[] = ['fleet-wide', 'per-ccs-id'];

/** The name prefix of the certificates a per-ccs-id agent group may read: `ccs-<ccs-id>--`. */
export const sourceNamePrefix = (ccsId: string): string => `ccs-${ccsId}--`;

/**
 * Whether the agents of `ccsId` can read the certificate `name` (as Key Vault stores it): always
 * with the fleet-wide group; with per-ccs-id groups, when it starts with the prefix exactly
 * (lower case: the condition compares case-sensitively).
 */
export function agentsCanRead(access: AgentAccess, ccsId: string, name: string): boolean {
  return (
    access === 'fleet-wide' || (name.startsWith(sourceNamePrefix(ccsId)) && name.length > ccsId.length + 6)
  );
}

/** Why a source is refused under per-ccs-id access (a 400 detail and the resolved source's problem). */
export const notReadableDetail = (ccsId: string, name: string): string =>
  `The agents of ${ccsId} may read only certificates named ${sourceNamePrefix(ccsId)}… (per-ccs-id agent groups, CCS_AGENT_ACCESS=per-ccs-id): ${name} cannot be published by them; import it under such a name`;
