/**
 * Processes an earlier stack left running in this folder. Today's children stop with the stack
 * (local/lifeline.mjs), but a stack of an older version — or one whose child was stuck — can
 * leave Azurite and agents running with no parent; they hold ports and Azurite's database. They
 * are recognised by the command lines the stack gives them, which name this folder: Azurite's
 * `--location <dir>/azurite` and an agent's `--config <dir>/agents/<host>/agent.json`.
 */
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isAlive, listProcesses, type ProcessEntry } from './processes.js';

/** A process of an earlier stack in this folder. */
export interface Leftover extends ProcessEntry {
  kind: 'Azurite' | 'agent';
}

/** An older stack's main process (it took no lock) that still runs this folder's children. */
export class OlderStackRunning extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    const kill = process.platform === 'win32' ? `taskkill /PID ${pid}` : `kill ${pid}`;
    super(
      `an older local stack is still running in ${dir} (pid ${pid}); stop it first (Ctrl-C in its terminal, or ${kill})`,
    );
    this.name = 'OlderStackRunning';
  }
}

const STACK_MAIN = /local[\\/]start\.[cm]?[jt]s\b/;

/**
 * This folder's leftover processes. Throws OlderStackRunning when their parent is a live stack
 * (they are not leftovers then, and the folder is in use).
 */
export async function findLeftovers(dir: string): Promise<Leftover[]> {
  const table = await listProcesses();
  const fold = (text: string) => (process.platform === 'win32' ? text.toLowerCase() : text);
  const azuriteData = fold(join(dir, 'azurite'));
  const agentHomes = fold(join(dir, 'agents'));
  const leftovers: Leftover[] = [];
  for (const entry of table) {
    if (entry.pid === process.pid) continue;
    const command = fold(entry.command);
    const kind =
      command.includes('azurite') && command.includes('--location') && command.includes(azuriteData)
        ? 'Azurite'
        : command.includes('--config') && command.includes(agentHomes)
          ? 'agent'
          : null;
    if (kind === null) continue;
    const parent = table.find((p) => p.pid === entry.ppid);
    if (parent && parent.pid !== process.pid && STACK_MAIN.test(parent.command) && isAlive(parent.pid)) {
      throw new OlderStackRunning(dir, parent.pid);
    }
    leftovers.push({ ...entry, kind });
  }
  return leftovers;
}

/**
 * Stops leftovers as Ctrl-C would (SIGINT: Azurite's table service flushes its database only
 * then), and kills what still runs after `graceMs`. Resolves once none is alive.
 */
export async function stopLeftovers(leftovers: Leftover[], graceMs = 10_000): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  const waitUntilGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (leftovers.some((l) => isAlive(l.pid)) && Date.now() < deadline) await delay(100);
  };
  for (const leftover of leftovers) signal(leftover.pid, 'SIGINT');
  await waitUntilGone(graceMs);
  for (const leftover of leftovers) if (isAlive(leftover.pid)) signal(leftover.pid, 'SIGKILL');
  await waitUntilGone(5000);
  const stuck = leftovers.find((l) => isAlive(l.pid));
  if (stuck)
    throw new Error(`could not stop the ${stuck.kind} process ${stuck.pid} left by an earlier stack`);
}
