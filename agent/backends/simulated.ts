/**
 * The simulated backend: a file-backed stand-in for an IIS server, so the whole system runs and
 * is tested on any machine. It is never a default (see agent/config.ts).
 *
 * - `<stateDir>/registry.json` plays `HKLM\SOFTWARE\Microsoft\IIS\CentralCertProvider`
 *   (`Enabled`, `CertStoreLocation`, `UserName`, `Password`, `PrivateKeyPassword`). The two
 *   passwords are encrypted with AES-256-GCM under `<stateDir>/machine.key` (created once,
 *   mode 0600), as IIS encrypts them with its machine key: the file never holds a cleartext
 *   secret.
 * - `<shareRoot>/accounts.json` plays the domain's accounts: `DOMAIN\user` (case-insensitive) →
 *   scrypt hash, the shares that account may read, and optionally why it may not log on
 *   (`disabled`, `locked-out`, `password-expired`, `no-logon-right`).
 * - `<shareRoot>/shares.json` plays the share permissions for computer accounts:
 *   `{ "<share>": { "computersRead": false } }` refuses the web servers' own reads (the
 *   default, like `New-SmbShare`'s Everyone:Read, lets them read).
 * - `\\localhost\<share>\rest` is the folder `<shareRoot>/<share>/rest`; any other UNC server is
 *   unreachable. `C:\x` is `<shareRoot>/drives/C/x`: the identity must still log on, as
 *   LogonUser validates it whatever the path (no NTFS permissions are modelled below a drive).
 * - Path segments resolve case-insensitively, as on Windows.
 * - `<stateDir>/inetsrv/config/` plays `%windir%\System32\inetsrv\config`: its
 *   applicationHost.config (and redirection.config) are read exactly as on Windows
 *   (agent/bindings/), and the CCS bindings found there are served by real TLS listeners whose
 *   certificates come from the share as the registry's provider settings say
 *   (agent/backends/simulated-iis/). A redirected `\\localhost\share` path maps as above.
 * - `checkStoreAccess` answers in Windows' order: the logon first (LogonUser), then the path
 *   (53 no server, 67 no share, 3 no folder), then the permission (5), then one .pfx is read.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { eachLimited } from '../../shared/each-limited.js';
import type { ActualState, CcsBinding } from '../../shared/messages.js';
import { writeFileAtomic } from '../atomic-file.js';
import { IisBindingsReader } from '../bindings/config-reader.js';
import {
  IDENTITY_PFX_MAX_BYTES,
  type Backend,
  type PfxFileStat,
  type ResolvedDesired,
  type StoreAccess,
  type StoreAccessFailure,
} from './backend.js';
import { SimulatedCcsProvider, type CcsProviderState } from './simulated-iis/ccs-provider.js';
import { SimulatedListeners } from './simulated-iis/listeners.js';
import { storeAccessFailure } from './store-access.js';

/** The registry values, by their IIS names. Passwords are `aes256gcm:` ciphertexts. */
export interface SimulatedRegistry {
  Enabled: 0 | 1;
  CertStoreLocation: string | null;
  UserName: string | null;
  Password: string | null;
  PrivateKeyPassword: string | null;
  /** Seconds between the CCS provider's looks at a cached certificate's file (IIS default 300). */
  PollingInterval?: number;
}

/** IIS's default `PollingInterval` (seconds), from the IIS Administration source. */
export const DEFAULT_POLLING_INTERVAL_SECONDS = 300;

/** Why an account with the right password still may not log on (what Windows answers). */
export type AccountRestriction = 'disabled' | 'locked-out' | 'password-expired' | 'no-logon-right';

interface ShareAccount {
  salt: string;
  hash: string;
  shares: string[];
  restriction?: AccountRestriction;
}
type Accounts = Record<string, ShareAccount>;
type SharePermissions = Record<string, { computersRead?: boolean }>;

const EMPTY_REGISTRY: SimulatedRegistry = {
  Enabled: 0,
  CertStoreLocation: null,
  UserName: null,
  Password: null,
  PrivateKeyPassword: null,
};

/** Files stat'ed at once by `statPfx`. */
const STATS_IN_FLIGHT = 32;

/** Server names that mean "this machine" for `\\server\share` paths. */
const LOCAL_SERVERS = new Set(['localhost', '127.0.0.1']);

const registryFile = (stateDir: string): string => join(stateDir, 'registry.json');
const machineKeyFile = (stateDir: string): string => join(stateDir, 'machine.key');
const accountsFile = (shareRoot: string): string => join(shareRoot, 'accounts.json');
const sharesFile = (shareRoot: string): string => join(shareRoot, 'shares.json');

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * A fault injected into this host's simulated IIS for tests and demos (`<stateDir>/iis-faults.json`,
 * `{ "unloadableStores": ["\\\\server\\share\\folder"] }`): its CCS provider cannot load any
 * certificate from those store locations, although the agent's own checks of them pass. It plays
 * a fault only IIS's own use shows — a per-server failure to load the store's keys — which is what
 * a rollout's serving gate exists for (docs/rollouts.md). Not a behaviour of IIS to imitate: a
 * switch; without the file nothing changes.
 */
async function injectedFault(stateDir: string, location: string | null): Promise<string | null> {
  const faults = await readJson<{ unloadableStores?: string[] }>(join(stateDir, 'iis-faults.json'), {});
  const hit =
    location !== null && faults.unloadableStores?.some((s) => s.toLowerCase() === location.toLowerCase());
  return hit ? `injected fault: the CCS provider cannot load certificates from ${location}` : null;
}

async function readJson<T>(file: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if (isMissing(error)) return fallback;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The machine key and password encryption

/** The per-host key, created once with mode 0600 (`wx`: two processes never both create it). */
async function machineKey(stateDir: string): Promise<Buffer> {
  const file = machineKeyFile(stateDir);
  try {
    const key = await readFile(file);
    if (key.length !== 32) throw new Error(`${file} is not a 32-byte key`);
    return key;
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  await mkdir(stateDir, { recursive: true });
  const key = randomBytes(32);
  try {
    const handle = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      await handle.writeFile(key);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return machineKey(stateDir);
    throw error;
  }
}

/** The field name is bound as associated data, so a ciphertext cannot be moved to another value. */
function encrypt(key: Buffer, field: string, value: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(field, 'utf8'));
  const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return [
    'aes256gcm',
    iv.toString('base64'),
    cipher.getAuthTag().toString('base64'),
    data.toString('base64'),
  ].join(':');
}

function decrypt(key: Buffer, field: string, sealed: string): string {
  const [scheme, iv, tag, data] = sealed.split(':');
  if (scheme !== 'aes256gcm' || !iv || !tag || data === undefined) throw new Error(`${field} is not sealed`);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(field, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Share accounts

function scryptHash(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolvePromise, reject) =>
    scrypt(password, salt, 32, (error, key) => (error ? reject(error) : resolvePromise(key))),
  );
}

const accountKey = (username: string): string => username.trim().toLowerCase();

/** Create or replace a share account (`DOMAIN\\user`) that may read `shares`; creates the share folders. */
export async function createShareAccount(
  shareRoot: string,
  username: string,
  password: string,
  shares: string[],
  restriction?: AccountRestriction,
): Promise<void> {
  await mkdir(shareRoot, { recursive: true });
  for (const share of shares) await mkdir(join(shareRoot, share), { recursive: true });
  const accounts = await readJson<Accounts>(accountsFile(shareRoot), {});
  const salt = randomBytes(16);
  accounts[accountKey(username)] = {
    salt: salt.toString('base64'),
    hash: (await scryptHash(password, salt)).toString('base64'),
    shares,
    ...(restriction ? { restriction } : {}),
  };
  await writeFileAtomic(accountsFile(shareRoot), `${JSON.stringify(accounts, null, 2)}\n`);
}

/** Whether the web servers' computer accounts may read `share` (the share permission for them). */
export async function setComputersRead(shareRoot: string, share: string, allowed: boolean): Promise<void> {
  const shares = await readJson<SharePermissions>(sharesFile(shareRoot), {});
  shares[share.toLowerCase()] = { computersRead: allowed };
  await writeFileAtomic(sharesFile(shareRoot), `${JSON.stringify(shares, null, 2)}\n`);
}

/**
 * LogonUser, played: the Windows error of a failed logon, or null when it succeeds. A locked-out
 * account is refused whatever the password (the domain controller answers STATUS_ACCOUNT_LOCKED_OUT
 * before it checks one); the other restrictions only show once the password is right.
 */
async function logon(shareRoot: string, username: string, password: string): Promise<number | null> {
  const accounts = await readJson<Accounts>(accountsFile(shareRoot), {});
  const account = accounts[accountKey(username)];
  if (!account) return 1326;
  if (account.restriction === 'locked-out') return 1909;
  const expected = Buffer.from(account.hash, 'base64');
  const actual = await scryptHash(password, Buffer.from(account.salt, 'base64'));
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return 1326;
  switch (account.restriction) {
    case 'disabled':
      return 1331;
    case 'password-expired':
      return 1330;
    case 'no-logon-right':
      return 1385;
    default:
      return null;
  }
}

async function mayRead(shareRoot: string, username: string, share: string): Promise<boolean> {
  const account = (await readJson<Accounts>(accountsFile(shareRoot), {}))[accountKey(username)];
  return account?.shares.some((s) => s.toLowerCase() === share.toLowerCase()) ?? false;
}

async function computersMayRead(shareRoot: string, share: string): Promise<boolean> {
  const shares = await readJson<SharePermissions>(sharesFile(shareRoot), {});
  return shares[share.toLowerCase()]?.computersRead !== false;
}

/** Every code `checkStoreAccess` produces is in the shared table; anything else is a bug here. */
function failureOf(win32: number): StoreAccessFailure {
  const failure = storeAccessFailure(win32);
  if (!failure)
    throw new Error(`the simulated backend produced Windows error ${win32}, which maps to nothing`);
  return failure;
}

// ---------------------------------------------------------------------------------------------
// Path mapping

type Location =
  | { kind: 'unc'; server: string; share: string; rest: string[] }
  | { kind: 'drive'; drive: string; rest: string[] };

/** Parse `\\server\share\...` or `C:\...` (either slash); `.`/`..` segments are refused. */
function parseLocation(path: string): Location | null {
  const p = path.trim().replace(/\//g, '\\');
  const unc = /^\\\\([^\\]+)\\([^\\]+)(.*)$/.exec(p);
  const drive = /^([A-Za-z]):(\\.*)?$/.exec(p);
  const rawRest = unc ? unc[3]! : drive ? (drive[2] ?? '') : null;
  if (rawRest === null) return null;
  const rest = rawRest.split('\\').filter((s) => s !== '');
  if (rest.some((s) => s === '.' || s === '..')) return null;
  if (unc) {
    if (unc[2] === '.' || unc[2] === '..') return null;
    return { kind: 'unc', server: unc[1]!.toLowerCase(), share: unc[2]!, rest };
  }
  return { kind: 'drive', drive: drive![1]!.toUpperCase(), rest };
}

/** Walk `segments` below `root`, matching each one case-insensitively; null when absent. */
async function resolveCaseInsensitive(root: string, segments: string[]): Promise<string | null> {
  let current = root;
  for (const segment of segments) {
    let entries: string[];
    try {
      entries = await readdir(current);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    const match =
      entries.find((e) => e === segment) ?? entries.find((e) => e.toLowerCase() === segment.toLowerCase());
    if (!match) return null;
    current = join(current, match);
  }
  return current;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Registry access (also used by tests and the demo to play an administrator)

async function readRegistry(stateDir: string): Promise<SimulatedRegistry> {
  return { ...EMPTY_REGISTRY, ...(await readJson<Partial<SimulatedRegistry>>(registryFile(stateDir), {})) };
}

async function writeRegistry(stateDir: string, registry: SimulatedRegistry): Promise<void> {
  await writeFileAtomic(registryFile(stateDir), `${JSON.stringify(registry, null, 2)}\n`);
}

/** Simulates an administrator editing the CentralCertProvider key by hand (drift tests, demos). */
export async function setRegistryByHand(
  stateDir: string,
  patch: Partial<Pick<SimulatedRegistry, 'Enabled' | 'CertStoreLocation' | 'UserName' | 'PollingInterval'>>,
): Promise<void> {
  await writeRegistry(stateDir, { ...(await readRegistry(stateDir)), ...patch });
}

/**
 * Decrypt the stored passwords, as only code with the machine key can. For tests asserting that
 * a rotation reached the host; the agent itself never reads a password back.
 */
export async function readStoredPasswordsForTests(
  stateDir: string,
): Promise<{ password: string | null; privateKeyPassword: string | null }> {
  const registry = await readRegistry(stateDir);
  const key = await machineKey(stateDir);
  return {
    password: registry.Password === null ? null : decrypt(key, 'Password', registry.Password),
    privateKeyPassword:
      registry.PrivateKeyPassword === null
        ? null
        : decrypt(key, 'PrivateKeyPassword', registry.PrivateKeyPassword),
  };
}

// ---------------------------------------------------------------------------------------------

export interface SimulatedBackendOptions {
  stateDir: string;
  shareRoot: string;
  /** The Windows version this simulated server reports (`10.0.14393` plays Server 2016); unset: unknown. */
  osVersion?: string;
  /** The simulated IIS's clock (tests move it past the CCS polling interval). */
  now?: () => number;
}

/** The simulated `%windir%\System32\inetsrv\config` of a simulated server. */
export const inetsrvConfigDir = (stateDir: string): string => join(stateDir, 'inetsrv', 'config');

export class SimulatedBackend implements Backend {
  readonly name = 'simulated';
  private readonly bindings: IisBindingsReader;
  /** The simulated IIS's HTTPS listeners (started by the first readBindings). */
  readonly listeners: SimulatedListeners;
  private identityVerdict: { key: string; canRead: boolean } | null = null;

  constructor(private readonly options: SimulatedBackendOptions) {
    this.bindings = new IisBindingsReader({
      configDir: inetsrvConfigDir(options.stateDir),
      locateFolder: async (path) => {
        const found = await this.locate(path);
        return 'win32' in found ? null : found.folder;
      },
    });
    this.listeners = new SimulatedListeners(
      new SimulatedCcsProvider(() => this.providerState(), options.now),
    );
  }

  /** The CCS bindings of the simulated applicationHost.config; the listeners follow them. */
  async readBindings(): Promise<CcsBinding[]> {
    const bindings = await this.bindings.read();
    await this.listeners.serve(bindings);
    return bindings;
  }

  async close(): Promise<void> {
    await this.listeners.close();
  }

  /** The provider settings as the simulated IIS uses them for a handshake, decrypted. */
  private async providerState(): Promise<CcsProviderState> {
    const { stateDir, shareRoot } = this.options;
    const registry = await readRegistry(stateDir);
    const key = await machineKey(stateDir);
    const open = (field: 'Password' | 'PrivateKeyPassword'): string | null =>
      registry[field] === null ? null : decrypt(key, field, registry[field]);
    const password = open('Password');
    const privateKeyPassword = open('PrivateKeyPassword');
    const version = createHash('sha256')
      .update(
        JSON.stringify([
          registry.Enabled,
          registry.CertStoreLocation,
          registry.UserName,
          password,
          privateKeyPassword,
        ]),
      )
      .digest('base64url');
    const located = registry.CertStoreLocation ? await this.locate(registry.CertStoreLocation) : null;
    const found = located && !('win32' in located) ? located : null;
    // The scrypt check runs once per provider configuration, not per handshake.
    if (this.identityVerdict?.key !== version) {
      // IIS reads the store as the configured identity: it must log on, and on a share may read it.
      const username = registry.UserName ?? '';
      const canRead =
        found !== null &&
        (await logon(shareRoot, username, password ?? '')) === null &&
        (found.location.kind === 'drive' || (await mayRead(shareRoot, username, found.location.share)));
      this.identityVerdict = { key: version, canRead };
    }
    return {
      enabled: registry.Enabled === 1,
      folder: found?.folder ?? null,
      identityCanRead: this.identityVerdict.canRead,
      fault: await injectedFault(stateDir, registry.CertStoreLocation),
      privateKeyPassword,
      pollingIntervalMs: (registry.PollingInterval ?? DEFAULT_POLLING_INTERVAL_SECONDS) * 1000,
      version,
    };
  }

  /** The local folder behind a CCS path, or the Windows error of looking for it. */
  private async locate(path: string): Promise<{ folder: string; location: Location } | { win32: number }> {
    const location = parseLocation(path);
    if (!location) return { win32: 161 }; // ERROR_BAD_PATHNAME
    let folder: string | null;
    if (location.kind === 'unc') {
      if (!LOCAL_SERVERS.has(location.server)) return { win32: 53 }; // ERROR_BAD_NETPATH
      if (!(await resolveCaseInsensitive(this.options.shareRoot, [location.share]))) return { win32: 67 };
      folder = await resolveCaseInsensitive(this.options.shareRoot, [location.share, ...location.rest]);
    } else {
      folder = await resolveCaseInsensitive(join(this.options.shareRoot, 'drives'), [
        location.drive,
        ...location.rest,
      ]);
    }
    if (!folder || !(await isDirectory(folder))) return { win32: 3 }; // ERROR_PATH_NOT_FOUND
    return { folder, location };
  }

  private async folderOrThrow(path: string): Promise<string> {
    const found = await this.locate(path);
    if ('win32' in found)
      throw Object.assign(new Error('The specified path does not exist'), { code: 'ENOENT' });
    return found.folder;
  }

  /** The local folder behind `\\localhost\<share>\…` or `C:\…`, as the publisher writes it. */
  publishFolder(path: string): Promise<string> {
    return this.folderOrThrow(path);
  }

  async readActual(): Promise<ActualState> {
    const registry = await readRegistry(this.options.stateDir);
    return {
      enabled: registry.Enabled === 1,
      path: registry.CertStoreLocation,
      username: registry.UserName,
      featureInstalled: true,
      rebootRequired: false,
      ...(this.options.osVersion ? { osVersion: this.options.osVersion } : {}),
    };
  }

  /** As Windows would answer it, in Windows' order (see the file comment). */
  async checkStoreAccess(path: string, username: string, password: string): Promise<StoreAccess> {
    const { shareRoot } = this.options;
    const failed = (win32: number) => ({ ok: false as const, failure: failureOf(win32), win32 });
    const logonError = await logon(shareRoot, username, password);
    if (logonError !== null) return { identity: failed(logonError), agent: null };
    const found = await this.locate(path);
    if ('win32' in found) return { identity: failed(found.win32), agent: null };
    const share = found.location.kind === 'unc' ? found.location.share : null;
    if (share !== null && !(await mayRead(shareRoot, username, share))) {
      return { identity: failed(5), agent: null };
    }
    // As CcsStoreProbe.cs: the first file small enough to read.
    const first = (await this.statPfx(path)).find((f) => f.size <= IDENTITY_PFX_MAX_BYTES)?.name;
    const pfx = first === undefined ? null : { name: first, bytes: await this.readFile(path, first) };
    const agentMayRead = share === null || (await computersMayRead(shareRoot, share));
    return { identity: { ok: true, pfx }, agent: agentMayRead ? { ok: true } : failed(5) };
  }

  async listPfx(path: string): Promise<string[]> {
    const folder = await this.folderOrThrow(path);
    const entries = await readdir(folder, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.pfx'))
      .map((e) => e.name)
      .sort();
  }

  async statPfx(path: string): Promise<PfxFileStat[]> {
    const folder = await this.folderOrThrow(path);
    const names = await this.listPfx(path);
    const statOne = async (name: string): Promise<PfxFileStat | null> => {
      try {
        const info = await stat(join(folder, name));
        return info.isFile() ? { name, size: info.size, mtimeMs: Math.trunc(info.mtimeMs) } : null;
      } catch (error) {
        // Removed between the listing and the stat: it is simply not there any more.
        if (!isMissing(error)) throw error;
        return null;
      }
    };
    // A few stats in flight at a time: one after the other, 10,000 files wait on 10,000 round
    // trips to the file system's thread pool (docs/performance.md).
    const found = new Array<PfxFileStat | null>(names.length).fill(null);
    await eachLimited([...names.keys()], STATS_IN_FLIGHT, async (i) => {
      found[i] = await statOne(names[i]!);
    });
    return found.filter((f): f is PfxFileStat => f !== null);
  }

  async readFile(path: string, fileName: string): Promise<Buffer> {
    if (fileName.includes('/') || fileName.includes('\\') || fileName === '..' || fileName === '.') {
      throw new Error('A file name, not a path, is expected');
    }
    return readFile(join(await this.folderOrThrow(path), fileName));
  }

  async apply(desired: ResolvedDesired): Promise<void> {
    const { stateDir } = this.options;
    const current = await readRegistry(stateDir);
    if (!desired.enabled) {
      // As IIS Administration's disable: the provider is off and the credentials are erased.
      await writeRegistry(stateDir, {
        ...current,
        Enabled: 0,
        UserName: null,
        Password: null,
        PrivateKeyPassword: null,
      });
      return;
    }
    const key = await machineKey(stateDir);
    await writeRegistry(stateDir, {
      ...current,
      Enabled: 1,
      CertStoreLocation: desired.path,
      UserName: desired.username,
      Password: encrypt(key, 'Password', desired.password),
      PrivateKeyPassword:
        desired.privateKeyPassword === null
          ? null
          : encrypt(key, 'PrivateKeyPassword', desired.privateKeyPassword),
    });
  }
}
