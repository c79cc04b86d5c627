/**
 * The local Key Vault's role model: each bearer token is a principal with role assignments,
 * modelled on Azure RBAC for Key Vault's data plane (vaults with `enableRbacAuthorization`, as
 * infra/app/keyvault.bicep deploys). A request is allowed when one of the caller's assignments
 * grants the request's data action at a scope that contains the object:
 *
 * - Roles are the built-in roles with their `dataActions` as Azure defines them (role ids and
 *   actions from the built-in role definitions, e.g. `Get-AzRoleDefinition "Key Vault Crypto
 *   User"`); `*` in an action matches any characters, as in Azure role definitions.
 * - Scopes are the vault (`/`) or one object (`/secrets/<name>`, `/keys/<name>`,
 *   `/certificates/<name>`): the Key Vault RBAC guide documents role assignments at the scope of
 *   an individual secret, key or certificate. Listing needs the vault scope.
 * - A refusal is what Key Vault answers (seen in hashicorp/terraform-provider-azurerm#27817 and
 *   azure-cli#15528): 403 with code `Forbidden`, inner code `ForbiddenByRbac`, and a message
 *   naming the caller, the action and the resource, with `Assignment: (not found)`.
 *
 * - A role assignment may carry an ABAC condition (version 2.0) on secret names, as Key Vault's
 *   attribute-based access control (preview) allows: `@Resource[Microsoft.KeyVault/vaults/
 *   secrets:name]`; the action it guards is refused on other names and on lists (abac.ts).
 *
 * Not modelled: deny assignments, other condition attributes (tags, keys, certificates),
 * propagation delay, management-plane roles (Owner, Contributor).
 */
import { parseCondition, type AbacRequest } from './abac.js';
import type { KeyVaultOperation } from './routes.js';
import { VaultError } from './vault.js';

const DATA = 'Microsoft.KeyVault/vaults';

/** The Key Vault data-plane built-in roles: id (the same in every tenant) and dataActions. */
export const BUILT_IN_ROLES = {
  'Key Vault Administrator': { id: '00482a5a-887f-4fb3-b363-3b7fe8e74483', dataActions: [`${DATA}/*`] },
  'Key Vault Secrets Officer': {
    id: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
    dataActions: [`${DATA}/secrets/*`],
  },
  'Key Vault Secrets User': {
    id: '4633458b-17de-408a-b874-0445c86b69e6',
    dataActions: [`${DATA}/secrets/getSecret/action`, `${DATA}/secrets/readMetadata/action`],
  },
  'Key Vault Crypto Officer': {
    id: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
    dataActions: [`${DATA}/keys/*`, `${DATA}/keyrotationpolicies/*`],
  },
  'Key Vault Crypto User': {
    id: '12338af0-0e69-4776-bea7-57ae8d297424',
    dataActions: [
      `${DATA}/keys/read`,
      `${DATA}/keys/update/action`,
      `${DATA}/keys/backup/action`,
      `${DATA}/keys/encrypt/action`,
      `${DATA}/keys/decrypt/action`,
      `${DATA}/keys/wrap/action`,
      `${DATA}/keys/unwrap/action`,
      `${DATA}/keys/sign/action`,
      `${DATA}/keys/verify/action`,
    ],
  },
  'Key Vault Crypto Service Encryption User': {
    id: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
    dataActions: [`${DATA}/keys/read`, `${DATA}/keys/wrap/action`, `${DATA}/keys/unwrap/action`],
  },
  /** Metadata and public key material only: "Cannot read sensitive values such as secret contents or key material". */
  'Key Vault Reader': {
    id: '21090545-7ca7-4776-b22c-e363652d74d2',
    dataActions: [`${DATA}/*/read`, `${DATA}/secrets/readMetadata/action`],
  },
  'Key Vault Certificates Officer': {
    id: 'a4417e6f-fecd-4de8-b567-7b0420556985',
    dataActions: [`${DATA}/certificatecas/*`, `${DATA}/certificates/*`, `${DATA}/certificatecontacts/write`],
  },
  'Key Vault Certificate User': {
    id: 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba',
    dataActions: [
      `${DATA}/certificates/read`,
      `${DATA}/secrets/getSecret/action`,
      `${DATA}/secrets/readMetadata/action`,
      `${DATA}/keys/read`,
    ],
  },
} as const;

export type BuiltInRoleName = keyof typeof BUILT_IN_ROLES;

/** One role assignment: a built-in role at the vault (`/`) or on one object (`/keys/<name>`…). */
export interface RoleAssignment {
  role: BuiltInRoleName;
  scope: string;
  /** An ABAC condition on secret names (version 2.0), e.g. fleet-roles.ts' per-ccs-id condition. */
  condition?: string;
}

/** A caller of the local vault: the bearer token it presents and what it may do. */
export interface VaultPrincipal {
  /** Shown as the caller in a 403 (`Caller: name=<name>`), as Azure shows an identity. */
  name: string;
  token: string;
  roles: RoleAssignment[];
}

/** Everything on the data plane, as a vault owner's deployment identity has it. */
export const ADMINISTRATOR: RoleAssignment[] = [{ role: 'Key Vault Administrator', scope: '/' }];

/** The data action each REST operation needs (Azure resource provider operations, Microsoft.KeyVault). */
const ACTIONS: Record<KeyVaultOperation, string> = {
  getSecret: 'secrets/getSecret/action',
  setSecret: 'secrets/setSecret/action',
  updateSecret: 'secrets/update/action',
  getSecrets: 'secrets/readMetadata/action',
  getSecretVersions: 'secrets/readMetadata/action',
  deleteSecret: 'secrets/delete',
  getDeletedSecret: 'secrets/readMetadata/action',
  getDeletedSecrets: 'secrets/readMetadata/action',
  purgeDeletedSecret: 'secrets/purge/action',
  recoverDeletedSecret: 'secrets/recover/action',
  createKey: 'keys/create/action',
  getKey: 'keys/read',
  getKeys: 'keys/read',
  getKeyVersions: 'keys/read',
  updateKey: 'keys/update/action',
  sign: 'keys/sign/action',
  verify: 'keys/verify/action',
  importCertificate: 'certificates/import/action',
  createCertificate: 'certificates/create/action',
  getCertificate: 'certificates/read',
  getCertificates: 'certificates/read',
  getCertificateVersions: 'certificates/read',
  getCertificatePolicy: 'certificates/read',
  updateCertificatePolicy: 'certificates/update/action',
  updateCertificate: 'certificates/update/action',
  getCertificateOperation: 'certificates/read',
  deleteCertificate: 'certificates/delete',
  getDeletedCertificate: 'certificates/read',
  getDeletedCertificates: 'certificates/read',
  purgeDeletedCertificate: 'certificates/purge/action',
  recoverDeletedCertificate: 'certificates/recover/action',
};

export function dataActionOf(operation: KeyVaultOperation): string {
  return `${DATA}/${ACTIONS[operation]}`;
}

/** The object a request is about (`/keys/<name>`), or the vault (`/`) for lists. */
export function requestScope(collection: string, name: string): string {
  if (!name) return '/';
  const objects = collection.replace(/^deleted/, '');
  return `/${objects}/${name}`;
}

const matches = (pattern: string, action: string): boolean =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  ).test(action);

/** Whether `scope` (where a role is assigned) contains `target` (what the request is about). */
const contains = (scope: string, target: string): boolean =>
  scope === '/' || scope.toLowerCase() === target.toLowerCase();

const conditions = new Map<string, (request: AbacRequest) => boolean>();

/** Whether an assignment's condition lets `action` through on `target` (no condition: yes). */
function conditionAllows(condition: string | undefined, action: string, target: string): boolean {
  if (condition === undefined) return true;
  let predicate = conditions.get(condition);
  if (!predicate) conditions.set(condition, (predicate = parseCondition(condition)));
  const name = /^\/secrets\/(.+)$/.exec(target)?.[1] ?? '';
  return predicate({ action, name });
}

export function isAllowed(assignments: readonly RoleAssignment[], action: string, target: string): boolean {
  return assignments.some(
    (a) =>
      contains(a.scope, target) &&
      BUILT_IN_ROLES[a.role].dataActions.some((pattern) => matches(pattern, action)) &&
      conditionAllows(a.condition, action, target),
  );
}

/** The local vault's stand-in for the ARM resource id in a refusal. */
const RESOURCE_PREFIX =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/local/providers/microsoft.keyvault/vaults/local';

export function forbiddenByRbac(principal: string, action: string, target: string): VaultError {
  const resource = target === '/' ? RESOURCE_PREFIX : `${RESOURCE_PREFIX}${target}`;
  const message = [
    'Caller is not authorized to perform action on resource.',
    'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
    `Caller: name=${principal}`,
    `Action: '${action}'`,
    `Resource: '${resource}'`,
    'Assignment: (not found)',
    'DenyAssignmentId: null',
    "DecisionReason: 'DeniedWithNoValidRBAC' ",
    'Vault: local;location=local',
    '',
  ].join('\r\n');
  return new VaultError(403, 'Forbidden', message, 'ForbiddenByRbac');
}
