/**
 * The bound-names check of a preflight (issue 13, "changes that know what they touch"): a change
 * of `path` or `private_key_password` must not take a certificate away from a site that has one.
 *
 * For every host name a CCS binding of this host names (in IIS's lookup form, shared/coverage.ts):
 * when it is served now — the applied store has the file IIS would use for it and that file opens
 * with the applied private-key password — the new store must have the file IIS would use and it
 * must open with the new password. Otherwise the preflight fails with `BoundNamesUncovered`
 * (409, the names in `hostNames`) and nothing changes. Names with no usable file before the change
 * never fail it (coverage reports them), so enabling a fleet is never blocked by its bindings.
 *
 * Readability as the new identity is the directory check preflight makes before this one (the
 * backends check an identity per share, not per file), so an identity-only change has nothing more
 * to check here. Without CCS bindings, or when the bindings cannot be read (logged; the result
 * report carries the read error), the check passes: behaviour is then exactly as without it.
 */
import { ccsFileFor, ccsLookupName, indexCcsFiles, type CcsFileIndex } from '../../shared/coverage.js';
import type { DesiredState, HostError, SecretRef } from '../../shared/messages.js';
import type { Backend, ResolvedDesired } from '../backends/backend.js';
import type { Logger } from '../log.js';
import { localPath, type PfxCheck } from '../preflight.js';
import type { SecretCache } from '../secrets.js';
import type { StateStore } from '../state.js';
import { appliedStore } from './applied-store.js';

/** Host names an error lists at most (and at most this many characters in all). */
const LISTED_NAMES = 100;
const LISTED_CHARACTERS = 6_000;

export interface BoundNamesDeps {
  backend: Backend;
  state: StateStore;
  secrets: SecretCache;
  environment: Record<string, string | undefined>;
  verifyPfx: (pfx: Buffer, password: string) => PfxCheck;
  log: Logger;
}

type Enabled = Extract<ResolvedDesired, { enabled: true }>;

const sameRef = (a: SecretRef | null, b: SecretRef | null): boolean =>
  a === null || b === null ? a === b : a.name === b.name && a.version === b.version;

const samePath = (a: string | null, b: string): boolean => a?.toLowerCase() === b.toLowerCase();

/** The error naming the host names that would lose their certificate. */
export function boundNamesUncovered(field: string, names: readonly string[]): HostError {
  const listed: string[] = [];
  let characters = 0;
  for (const name of names) {
    if (listed.length === LISTED_NAMES || characters + name.length > LISTED_CHARACTERS) break;
    listed.push(name);
    characters += name.length;
  }
  const shown = listed.slice(0, 5).join(', ') + (names.length > 5 ? `, and ${names.length - 5} more` : '');
  return {
    name: field,
    code: 'BoundNamesUncovered',
    detail:
      `The change would leave ${names.length} bound host name${names.length === 1 ? '' : 's'} without a certificate the new settings can open: ${shown}`.slice(
        0,
        1024,
      ),
    status: 409,
    hostNames: listed,
  };
}

export class BoundNamesGuard {
  constructor(private readonly deps: BoundNamesDeps) {}

  /** Null when the change keeps every served name served (or there is nothing to check). */
  async check(desired: DesiredState, next: Enabled): Promise<HostError | null> {
    const { backend, state, secrets, environment, log } = this.deps;
    if (!backend.readBindings) return null;
    const current = (await state.load()).desired;
    if (!current?.enabled || current.path === null) return null;
    const pathChanged = !samePath(localPath(current.path, environment), next.path);
    const passwordChanged = !sameRef(current.privateKeyPassword, desired.privateKeyPassword);
    if (!pathChanged && !passwordChanged) return null;

    let names: Map<string, string>;
    try {
      names = boundNames(await backend.readBindings());
    } catch (error) {
      log.warn('bound-names check skipped: the bindings cannot be read', { error: (error as Error).message });
      return null;
    }
    if (names.size === 0) return null;
    const before = await appliedStore(current, secrets, environment);
    if ('unavailable' in before) {
      log.warn('bound-names check skipped: the applied store is unknown', { reason: before.unavailable });
      return null;
    }
    const opener = new StoreOpener(backend, this.deps.verifyPfx);
    const oldFiles = await opener.index(before.path);
    if (oldFiles === null) return null; // the applied store cannot be listed: nothing is served from it now
    const newFiles = pathChanged ? await opener.index(next.path) : oldFiles;

    const lost: string[] = [];
    for (const [name, spelling] of names) {
      const served = ccsFileFor(name, oldFiles);
      if (
        served === null ||
        !(await opener.opens('before', before.path, served, before.privateKeyPassword))
      ) {
        continue;
      }
      const replacement = newFiles === null ? null : ccsFileFor(name, newFiles);
      if (
        replacement === null ||
        !(await opener.opens('after', next.path, replacement, next.privateKeyPassword))
      ) {
        lost.push(spelling);
      }
    }
    if (lost.length === 0) return null;
    return boundNamesUncovered(pathChanged ? 'path' : 'private_key_password', lost.sort());
  }
}

/** Lookup name → the host name as first configured, for every CCS binding that names one. */
function boundNames(bindings: readonly { hostName: string }[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const binding of bindings) {
    const name = ccsLookupName(binding.hostName);
    if (name !== null && !names.has(name)) names.set(name, binding.hostName);
  }
  return names;
}

/** Reads each (store, file) once and opens it at most once per side of the change. */
class StoreOpener {
  private readonly files = new Map<string, Promise<Buffer | null>>();
  private readonly verdicts = new Map<string, boolean>();

  constructor(
    private readonly backend: Backend,
    private readonly verifyPfx: (pfx: Buffer, password: string) => PfxCheck,
  ) {}

  async index(path: string): Promise<CcsFileIndex | null> {
    try {
      return indexCcsFiles(await this.backend.listPfx(path));
    } catch {
      return null;
    }
  }

  /** Whether IIS could load `file` with `password` (`side` keys the memo: one password per side). */
  async opens(
    side: 'before' | 'after',
    path: string,
    file: string,
    password: string | null,
  ): Promise<boolean> {
    const key = `${path.toLowerCase()}\u0000${file.toLowerCase()}`;
    const known = this.verdicts.get(`${side}\u0000${key}`);
    if (known !== undefined) return known;
    let bytes = this.files.get(key);
    if (!bytes) {
      bytes = this.backend.readFile(path, file).catch(() => null);
      this.files.set(key, bytes);
    }
    const pfx = await bytes;
    let verdict = false;
    try {
      verdict = pfx !== null && this.verifyPfx(pfx, password ?? '') !== 'wrong-password';
    } catch {
      verdict = false; // malformed: IIS cannot load it either
    }
    this.verdicts.set(`${side}\u0000${key}`, verdict);
    return verdict;
  }
}
