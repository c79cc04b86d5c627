/**
 * What the agent needs from the machine it manages: the IIS Central Certificate Store
 * provider settings and read access to the share. The `powershell` backend (IISAdministration
 * module) and the `simulated` one (files) implement the same interface, so the loop, preflight
 * and drift logic are the same code on a real IIS server and in tests.
 */
import type { ActualState, CcsBinding } from '../../shared/messages.js';

/** The desired state with its Key Vault references resolved: only ever held in memory. */
export type ResolvedDesired =
  | { enabled: false }
  | {
      enabled: true;
      /** Already expanded (%VAR%) and normalised: what IIS stores as `CertStoreLocation`. */
      path: string;
      username: string;
      password: string;
      privateKeyPassword: string | null;
    };

/** One `.pfx` file of a directory listing. */
export interface PfxFileStat {
  /** The file name, not a path. */
  name: string;
  size: number;
  /** Last write time, milliseconds since the epoch (UTC). */
  mtimeMs: number;
}

/**
 * Why a store could not be used, from the Windows error behind it (agent/backends/store-access.ts
 * maps the codes). Each one is a definite answer about the input, never a reason to retry.
 */
export type StoreAccessFailure =
  /** 1326 (86): the user name or the password is wrong, or the account does not exist. */
  | 'LogonFailed'
  /** 1385: the account may not log on this way ("Allow log on locally" not granted, or denied). */
  | 'LogonTypeNotGranted'
  /** 1331 disabled, 1909 locked out, 1330/1907 password expired or must change, 1793 expired, 1327 restricted. */
  | 'AccountUnavailable'
  /** 2, 3, 53, 67, 161, 1203: no such folder, server or share. */
  | 'PathNotFound'
  /** 5 (65): the account may not read the share or the folder. */
  | 'AccessDenied';

/** One side of a store check: it passed, or why not (`win32`: the Windows error, when there was one). */
export type AccessOutcome<T extends object = object> =
  ({ ok: true } & T) | { ok: false; failure: StoreAccessFailure; win32: number | null };

/** The first `.pfx` of the store (by name), as the CCS identity read it. */
export interface IdentityPfx {
  name: string;
  bytes: Buffer;
}

/**
 * What a store check found, each identity reported on its own because the fixes differ: the CCS
 * identity's rights are the share's business (or its password's), the computer account's need
 * READ for `DOMAIN\WEB01$` on the share.
 */
/**
 * The largest `.pfx` the identity check reads (CcsStoreProbe.cs `MaxPfxBytes`): a bigger file
 * dropped on the share is skipped, never read into memory as the identity.
 */
export const IDENTITY_PFX_MAX_BYTES = 256 * 1024;

export interface StoreAccess {
  /**
   * As the CCS identity, the way IIS Administration checks it: LogonUser and impersonation, in a
   * logon session of its own (so no other connection of the agent's session interferes, and
   * nothing stays connected afterwards), the same for a local path and a share. It lists the
   * folder and reads the first `.pfx` of at most IDENTITY_PFX_MAX_BYTES (null when there is none).
   */
  identity: AccessOutcome<{ pfx: IdentityPfx | null }>;
  /**
   * As the agent itself (LocalSystem: the computer account on a share), which reads the store for
   * the certificate inventory: the folder is listed and the identity's `.pfx` read. Null when the
   * identity check failed (not tried).
   */
  agent: AccessOutcome | null;
}

export interface Backend {
  readonly name: string;
  /**
   * The provider settings as IIS holds them now (never a password). On Windows this reads the
   * registry in-process: the drift check runs it every minute and must start no process.
   */
  readActual(): Promise<ActualState>;
  /**
   * Checks a store as the CCS identity and as the agent (StoreAccess). Resolves for every answer
   * about the input (wrong password, no such share, no permission…); rejects only when the check
   * itself could not run (a timeout, a domain controller out of reach), which may pass on retry.
   */
  checkStoreAccess(path: string, username: string, password: string): Promise<StoreAccess>;
  /** File names (not paths) of the `.pfx` files directly in the directory, sorted. */
  listPfx(path: string): Promise<string[]>;
  /** The bytes of one file in the directory. */
  readFile(path: string, fileName: string): Promise<Buffer>;
  /**
   * The `.pfx` files directly in the directory with their size and last write time, from one
   * listing (no file opened), read by the agent's own identity: what makes a rescan of a large
   * share cheap (agent/inventory/). Optional: without it a scan reads every file each time.
   */
  statPfx?(path: string): Promise<PfxFileStat[]>;
  /**
   * The folder node:fs reads and writes for a store path, as the agent's own identity — what the
   * share publisher writes (agent/publish/). Windows: the path itself (a UNC path works with
   * node:fs); the simulated backend maps `\\localhost\share` to its folder. Optional: without it
   * the expanded path is used as it is.
   */
  publishFolder?(path: string): Promise<string>;
  /** Make IIS match `desired`: enable/set, or disable (which erases username and passwords). */
  apply(desired: ResolvedDesired): Promise<void>;
  /**
   * The HTTPS bindings that use the Central Certificate Store, from IIS's configuration files
   * (agent/bindings/; shared configuration honoured), re-parsed only when a file changed. An
   * empty list when IIS is not installed; throws `IisConfigError` when the configuration cannot
   * be read. Optional: a backend without it reports no bindings and skips the checks that need them.
   */
  readBindings?(): Promise<CcsBinding[]>;
  /** Release what the backend holds open (the simulated IIS's listeners). */
  close?(): Promise<void>;
}
