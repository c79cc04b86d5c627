/**
 * One local stack per folder: `<dir>/stack.lock` names the process that owns the folder (its
 * pid, and on Linux its start time so a recycled pid is not mistaken for it) and, once it is
 * ready, its API. A second start finds a live owner and is refused; a lock whose owner is gone
 * (SIGKILL, power loss) is stale and taken over.
 *
 * The lock file appears atomically with its content (written aside, then hard-linked into
 * place, which fails when the lock exists). Taking over a stale lock removes it first, so two
 * starts racing for the same stale lock in the same instant could both succeed; one person
 * starting one stack never hits that.
 */
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, processStartTime } from './processes.js';

/** What the lock file says about the stack that owns the folder. */
export interface LockOwner {
  pid: number;
  /** Linux only: /proc start time, to tell the owner from a later process with its pid. */
  startTime?: string;
  startedAt: string;
  /** Set once the stack is ready. */
  api?: string;
}

export interface StackLock {
  file: string;
  /** Records the API URL, so a refused second start can say where the running stack is. */
  setApi(api: string): void;
  /** Removes the lock if this process still owns it. */
  release(): void;
}

/** A live stack owns the folder; the message is the one line `npm start` prints. */
export class StackAlreadyRunning extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner,
  ) {
    const where = owner.api ? `API ${owner.api}` : 'still starting';
    const kill = process.platform === 'win32' ? `taskkill /PID ${owner.pid}` : `kill ${owner.pid}`;
    super(
      `a local stack is already running in ${dir} (pid ${owner.pid}, ${where}); use it, or stop it first (Ctrl-C in its terminal, or ${kill})`,
    );
    this.name = 'StackAlreadyRunning';
  }
}

export const LOCK_FILE = 'stack.lock';

/** The lock's owner if it is a live process, else undefined (no lock, or a stale one). */
export function liveOwner(owner: LockOwner | undefined): LockOwner | undefined {
  if (!owner || !isAlive(owner.pid)) return undefined;
  const now = processStartTime(owner.pid);
  return owner.startTime !== undefined && now !== undefined && now !== owner.startTime ? undefined : owner;
}

/**
 * Takes the folder's lock for this process. Throws StackAlreadyRunning when a live stack holds
 * it; `staleOwner` names the dead owner whose lock was taken over.
 */
export function acquireStackLock(dir: string): { lock: StackLock; staleOwner?: LockOwner } {
  const file = join(dir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    ...(processStartTime(process.pid) !== undefined && { startTime: processStartTime(process.pid) }),
    startedAt: new Date().toISOString(),
  };
  let staleOwner: LockOwner | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusively(file, me)) {
      const lock = {
        file,
        setApi(api: string) {
          if (readOwner(file)?.pid !== me.pid) return;
          writeAtomically(file, { ...me, api });
        },
        release() {
          if (readOwner(file)?.pid === me.pid) rmSync(file, { force: true });
        },
      };
      return staleOwner ? { lock, staleOwner } : { lock };
    }
    const owner = readOwner(file);
    const live = liveOwner(owner);
    if (live) throw new StackAlreadyRunning(dir, live);
    // An unreadable lock is one whose owner died while writing it: stale as well.
    staleOwner = owner ?? { pid: 0, startedAt: 'unknown' };
    rmSync(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}: other starts keep taking it`);
}

export function readOwner(file: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) && owner.pid > 0 ? owner : undefined;
  } catch {
    return undefined;
  }
}

function createExclusively(file: string, owner: LockOwner): boolean {
  const draft = `${file}.${process.pid}.tmp`;
  writeFileSync(draft, JSON.stringify(owner));
  try {
    linkSync(draft, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(draft, { force: true });
  }
}

function writeAtomically(file: string, owner: LockOwner): void {
  const draft = `${file}.${process.pid}.tmp`;
  writeFileSync(draft, JSON.stringify(owner));
  renameSync(draft, file);
}
