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

export interface Backend {
  readonly name: string;
  /** The provider settings as IIS holds them now (never a password). */
  readActual(): Promise<ActualState>;
  /** Whether the directory exists, seen by the agent's own identity. */
  exists(path: string): Promise<boolean>;
  /** Whether `username`/`password` can list the directory (IIS reads the share as that identity). */
  canAccess(path: string, username: string, password: string): Promise<boolean>;
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
