/**
 * Preflight: would this desired state work on this host? It changes nothing. The checks run in
 * a fixed order and the first failure is reported, already in the API's error vocabulary
 * (`name` is the API field at fault), so the caller of the API sees the same error IIS
 * Administration would give for the same mistake:
 *
 *   0. the secrets referenced are this ccs-id's own                             → field 403
 *   1. the path is inside this host's allowed locations after %VAR% expansion  → path 403
 *   2. the identity (its password fetched from Key Vault first) logs on, lists the folder and
 *      reads one .pfx, in a logon session of its own (Backend.checkStoreAccess):
 *      wrong password / no logon right / account disabled or locked           → identity 400
 *      no such folder, server or share                                          → path 404
 *      no permission for the identity                                           → identity 400
 *   3. the agent itself (the computer account on a share) lists and reads it   → path 403
 *   4. when the share holds a .pfx, the private-key password opens one          → private_key_password 400
 *   5. (a `preflight` command without `force`) no CCS-bound host name served now
 *      loses its certificate (agent/bindings/bound-names.ts)                     → path / private_key_password 409
 *
 * A Key Vault failure is `SecretUnavailable` with status 502: the host could not get the
 * referenced version from an upstream service, which says nothing about the input being
 * wrong and may pass on retry.
 *
 * On success it returns the desired state with its secrets resolved, so apply uses exactly
 * what was checked.
 */
import type { AllowedLocation } from '../shared/paths.js';
import type { DesiredState, HostError } from '../shared/messages.js';
import { DomainError } from '../shared/errors.js';
import { secretName } from '../shared/names.js';
import {
  expandAllowedLocations,
  expandEnvironmentVariables,
  isInsideAllowedLocations,
} from '../shared/paths.js';
import { MAX_PFX_BYTES } from '../shared/pkcs12/pfx.js';
import type { Backend, ResolvedDesired, StoreAccess, StoreAccessFailure } from './backends/backend.js';
import { SecretUnavailableError, type SecretCache } from './secrets.js';

export type PfxCheck = 'ok' | 'wrong-password' | 'unprotected';

export interface PreflightDeps {
  /** This host's ccs-id: a command may reference only its secrets. */
  ccsId: string;
  backend: Backend;
  secrets: SecretCache;
  allowedLocations: readonly AllowedLocation[];
  environment: Record<string, string | undefined>;
  /** `verifyPfxPassword` from shared/pkcs12; throws on a malformed file. */
  verifyPfx: (pfx: Buffer, password: string) => PfxCheck;
  /** Check 5 (agent/bindings/bound-names.ts); without it the check is not made. */
  boundNames?: {
    check(desired: DesiredState, next: ResolvedDesired & { enabled: true }): Promise<HostError | null>;
  };
}

export interface PreflightOptions {
  /** Run check 5: only a `preflight` command does, and `force` turns it off. */
  checkBoundNames?: boolean;
}

export type PreflightResult = { ok: true; resolved: ResolvedDesired } | { ok: false; error: HostError };

/** How many .pfx files are tried before concluding: enough to get past a few odd files. */
export const MAX_PFX_TRIED = 25;

export const hostErrors = {
  invalid: (name: string, detail: string): HostError => ({
    name,
    code: 'InvalidParameter',
    detail,
    status: 400,
  }),
  pathForbidden: (): HostError => ({
    name: 'path',
    code: 'PathForbidden',
    detail: 'The path is outside the allowed locations of this host',
    status: 403,
  }),
  pathNotFound: (): HostError => ({
    name: 'path',
    code: 'PathNotFound',
    detail: 'The specified path does not exist',
    status: 404,
  }),
  /** IIS Administration's answer for an identity that cannot use the store; `code` says why. */
  cannotAccessStore: (code = 'CannotAccessStore'): HostError => ({
    name: 'identity',
    code,
    detail: 'Cannot access certificate store',
    status: 400,
  }),
  computerAccountCannotRead: (account: string | null): HostError => ({
    name: 'path',
    code: 'ComputerAccountCannotRead',
    detail: `The computer account of this server${account ? ` (${account})` : ''} cannot read the certificate store: grant it READ on the share and the folder`,
    status: 403,
  }),
  invalidPrivateKeyPassword: (): HostError => ({
    name: 'private_key_password',
    code: 'InvalidPrivateKeyPassword',
    detail: 'The private key password does not open the certificates in the store',
    status: 400,
  }),
  secretNotAllowed: (name: string): HostError => ({
    name,
    code: 'SecretNotAllowed',
    detail: "The secret referenced is not this host's ccs-id's",
    status: 403,
  }),
  secretUnavailable: (name: string, error: SecretUnavailableError): HostError => ({
    name,
    code: 'SecretUnavailable',
    detail: error.message,
    status: 502,
  }),
};

/**
 * The path as IIS will store it: %VAR% expanded with this host's environment, normalised. A
 * path that cannot be resolved here yields the reason (a 400 on `path`, e.g. an undefined
 * variable) rather than a value.
 */
export function resolveLocalPath(
  path: string,
  environment: Record<string, string | undefined>,
): { path: string } | { error: HostError } {
  try {
    return { path: expandEnvironmentVariables(path, environment) };
  } catch (error) {
    if (error instanceof DomainError) return { error: hostErrors.invalid('path', error.message) };
    throw error;
  }
}

/**
 * The secrets a desired state references must be this ccs-id's — exactly the names the API gives
 * them (shared/names.ts `secretName`). A prefix check would not do: `ccs-a-` is also the start of
 * ccs-id `a-b`'s secret names.
 */
export function checkSecretNames(desired: DesiredState, ccsId: string): HostError | null {
  if (desired.password && desired.password.name !== secretName(ccsId, 'identity-password')) {
    return hostErrors.secretNotAllowed('identity.password');
  }
  if (
    desired.privateKeyPassword &&
    desired.privateKeyPassword.name !== secretName(ccsId, 'private-key-password')
  ) {
    return hostErrors.secretNotAllowed('private_key_password');
  }
  return null;
}

/** The path (expanded on this host) against this host's allowed locations, as expanded here. */
export function isAllowedHere(
  path: string,
  deps: Pick<PreflightDeps, 'allowedLocations' | 'environment'>,
): boolean {
  return isInsideAllowedLocations(path, expandAllowedLocations(deps.allowedLocations, deps.environment));
}

/** `resolveLocalPath` for comparisons: null when the path does not resolve on this host. */
export function localPath(path: string, environment: Record<string, string | undefined>): string | null {
  const resolved = resolveLocalPath(path, environment);
  return 'path' in resolved ? resolved.path : null;
}

async function fetchSecret(
  deps: PreflightDeps,
  field: string,
  ref: DesiredState['password'],
): Promise<{ value: string | null } | { error: HostError }> {
  if (ref === null) return { value: null };
  try {
    return { value: await deps.secrets.get(ref) };
  } catch (error) {
    if (error instanceof SecretUnavailableError) return { error: hostErrors.secretUnavailable(field, error) };
    throw error;
  }
}

/**
 * The .pfx files worth opening, sorted: with `statPfx`, those the PKCS#12 reader would not refuse
 * for their size (a huge file dropped on the share is never read into memory).
 */
async function candidateFiles(backend: Backend, path: string): Promise<string[]> {
  if (!backend.statPfx) return backend.listPfx(path);
  const listed = await backend.statPfx(path);
  return listed
    .filter((f) => f.size <= MAX_PFX_BYTES)
    .map((f) => f.name)
    .sort();
}

/** The API error for a store the CCS identity cannot use. */
function identityError(failure: StoreAccessFailure): HostError {
  switch (failure) {
    case 'PathNotFound':
      return hostErrors.pathNotFound();
    case 'LogonFailed':
      return hostErrors.cannotAccessStore('IdentityLogonFailed');
    case 'LogonTypeNotGranted':
      return hostErrors.cannotAccessStore('IdentityLogonTypeNotGranted');
    case 'AccountUnavailable':
      return hostErrors.cannotAccessStore('IdentityAccountUnavailable');
    case 'AccessDenied':
      return hostErrors.cannotAccessStore('CannotAccessStore');
  }
}

/** `DOMAIN\HOST$`, the name a file server knows this server by, when the environment tells it. */
function computerAccount(environment: Record<string, string | undefined>): string | null {
  const domain = environment.USERDOMAIN;
  const computer = environment.COMPUTERNAME;
  return domain && computer ? `${domain}\\${computer}$` : null;
}

/**
 * Check 4, on the file the identity read first; when that one does not decide (no password on it,
 * malformed, or another password), the agent's own reads of the other files do: any file the
 * password opens passes, only files that refuse it fail the check.
 */
async function checkPrivateKeyPassword(
  deps: PreflightDeps,
  path: string,
  access: StoreAccess,
  password: string,
): Promise<boolean> {
  const first = access.identity.ok ? access.identity.pfx : null;
  const verdictOf = (bytes: Buffer): PfxCheck | null => {
    try {
      return deps.verifyPfx(bytes, password);
    } catch {
      return null; // malformed: it proves nothing about the password
    }
  };
  let refused = false;
  if (first) {
    const verdict = verdictOf(first.bytes);
    if (verdict === 'ok') return true;
    refused = verdict === 'wrong-password';
  }
  const others = (await candidateFiles(deps.backend, path)).filter((name) => name !== first?.name);
  for (const file of others.slice(0, MAX_PFX_TRIED - (first ? 1 : 0))) {
    let bytes: Buffer;
    try {
      bytes = await deps.backend.readFile(path, file);
    } catch {
      continue; // removed or unreadable since the listing
    }
    const verdict = verdictOf(bytes);
    if (verdict === 'ok') return true;
    if (verdict === 'wrong-password') refused = true;
  }
  // Only unprotected/odd files (or none): nothing contradicts the password.
  return !refused;
}

export async function preflight(
  desired: DesiredState,
  deps: PreflightDeps,
  options: PreflightOptions = {},
): Promise<PreflightResult> {
  // Disabling cannot break access to a share: nothing to check.
  if (!desired.enabled) return { ok: true, resolved: { enabled: false } };

  if (!desired.path) return { ok: false, error: hostErrors.invalid('path', 'path is required to enable') };
  if (!desired.username) {
    return {
      ok: false,
      error: hostErrors.invalid('identity.username', 'identity.username is required to enable'),
    };
  }
  if (!desired.password) {
    return {
      ok: false,
      error: hostErrors.invalid('identity.password', 'identity.password is required to enable'),
    };
  }

  // 0. Only this ccs-id's secrets, before any is fetched.
  const names = checkSecretNames(desired, deps.ccsId);
  if (names) return { ok: false, error: names };

  // 1. Allowed locations, checked again here with this host's own list, both sides expanded
  //    with this host's environment (%SystemDrive% may differ from host to host).
  const local = resolveLocalPath(desired.path, deps.environment);
  if ('error' in local) return { ok: false, error: local.error };
  const path = local.path;
  if (!isAllowedHere(path, deps)) return { ok: false, error: hostErrors.pathForbidden() };

  // 2. As the identity IIS will use, in its own logon session: logs on, lists, reads one .pfx.
  const password = await fetchSecret(deps, 'identity', desired.password);
  if ('error' in password) return { ok: false, error: password.error };
  const access = await deps.backend.checkStoreAccess(path, desired.username, password.value ?? '');
  if (!access.identity.ok) return { ok: false, error: identityError(access.identity.failure) };

  // 3. As the agent itself: the certificate inventory reads the share with the computer account.
  if (access.agent && !access.agent.ok) {
    return { ok: false, error: hostErrors.computerAccountCannotRead(computerAccount(deps.environment)) };
  }

  // 4. The private-key password opens the store's certificates (an absent one is the empty password).
  const privateKeyPassword = await fetchSecret(deps, 'private_key_password', desired.privateKeyPassword);
  if ('error' in privateKeyPassword) return { ok: false, error: privateKeyPassword.error };
  if (!(await checkPrivateKeyPassword(deps, path, access, privateKeyPassword.value ?? ''))) {
    return { ok: false, error: hostErrors.invalidPrivateKeyPassword() };
  }

  const resolved = {
    enabled: true as const,
    path,
    username: desired.username,
    password: password.value ?? '',
    privateKeyPassword: privateKeyPassword.value,
  };

  // 5. No site that has a certificate now loses it.
  if (options.checkBoundNames && deps.boundNames) {
    const lost = await deps.boundNames.check(desired, resolved);
    if (lost) return { ok: false, error: lost };
  }
  return { ok: true, resolved };
}
