/**
 * `npm start`: run the whole local system until Ctrl-C. `npm start -- --reset` starts from an
 * empty data folder. Settings: PORT (API, default 7071), CCS_LOCAL_DIR (default .local),
 * CCS_QUEUE_PORT / CCS_TABLE_PORT / CCS_KEYVAULT_PORT (0 or unset: free ports), CCS_LOCAL_HOSTS
 * (comma-separated host names), CCS_LOCAL_DEMO_SITES (0: the hosts have no HTTPS site bound
 * through CCS).
 *
 * Exit codes: 0 after a stop (Ctrl-C, SIGTERM, a closed terminal); 1 when it did not start — one
 * line on stderr says why and where the log is, and nothing it started is left running; 130
 * when interrupted while starting.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunningStack } from './stack.js';
import { acquireStackLock, LOCK_FILE, StackAlreadyRunning, type StackLock } from './stack-lock.js';
import { findLeftovers, OlderStackRunning, stopLeftovers } from './leftovers.js';
import { assertPortsFree } from './busy-port.js';
import { confirmReset, emptyFolder, resetRefusal } from './reset.js';
import { progressFor } from './progress.js';
import { StartFailure } from './stages.js';

const USAGE = `Usage: npm start [-- --reset]
  --reset   delete everything in the data folder (CCS_LOCAL_DIR, default .local) first;
            asks on a terminal, proceeds without asking otherwise
`;
const env = process.env;
const say = (line: string) => void process.stdout.write(`${line}\n`);
/** A path as the person who typed `npm start` would write it. */
const shown = (path: string) => {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
};

function stopWith(message: string, prefix = 'Local stack failed to start'): never {
  process.stderr.write(`${prefix}: ${message}\n`);
  process.exit(1);
}

function portSetting(name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    stopWith(`${name} must be a port number from 0 to 65535 (0 picks a free one), not "${value}"`);
  }
  return port;
}

let args: { reset: boolean; help: boolean };
try {
  args = parseArgs({
    options: { reset: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    strict: true,
  }).values;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}`);
  process.exit(1);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const dir = resolve(env.CCS_LOCAL_DIR ?? '.local');
const ports = {
  api: portSetting('PORT', 7071),
  queue: portSetting('CCS_QUEUE_PORT', 0),
  table: portSetting('CCS_TABLE_PORT', 0),
  keyVault: portSetting('CCS_KEYVAULT_PORT', 0),
};

mkdirSync(dir, { recursive: true });
let lock: StackLock;
try {
  const taken = acquireStackLock(dir);
  lock = taken.lock;
  if (taken.staleOwner) {
    say(`Taking over ${shown(dir)} from a stack that is no longer running (pid ${taken.staleOwner.pid}).`);
  }
} catch (error) {
  if (error instanceof StackAlreadyRunning) stopWith(error.message, 'Local stack not started');
  throw error;
}
// Whatever ends this process short of SIGKILL frees the folder; a SIGKILLed owner's lock is
// stale and taken over by the next start.
process.on('exit', () => lock.release());

let stack: RunningStack | undefined;
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  if (!stack) {
    // Still starting: exit now; every child stops as its lifeline closes (local/lifeline.mjs).
    process.stderr.write('Interrupted while starting; stopping what had started.\n');
    process.exit(130);
  }
  say('Stopping the local stack…');
  stack.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);

try {
  const leftovers = await findLeftovers(dir);
  if (leftovers.length > 0) {
    await stopLeftovers(leftovers);
    const list = leftovers.map((l) => `${l.kind} (pid ${l.pid})`).join(', ');
    const count = leftovers.length === 1 ? '1 process' : `${leftovers.length} processes`;
    say(`Stopped ${count} an earlier stack left running in ${shown(dir)}: ${list}.`);
  }
  if (args.reset) await reset();
  await assertPortsFree([
    { setting: 'PORT', role: 'the API', port: ports.api },
    { setting: 'CCS_QUEUE_PORT', role: "Azurite's queue service", port: ports.queue },
    { setting: 'CCS_TABLE_PORT', role: "Azurite's table service", port: ports.table },
    { setting: 'CCS_KEYVAULT_PORT', role: 'the local Key Vault', port: ports.keyVault },
  ]);
  say(`Starting the local stack in ${shown(dir)} (logs in ${shown(resolve(dir, 'logs'))})`);
  // Loaded only now (the API, the SDKs): a refusal or a busy port is reported without that wait.
  const { startStack } = await import('./stack.js');
  stack = await startStack({
    dir,
    port: ports.api,
    queuePort: ports.queue,
    tablePort: ports.table,
    keyVaultPort: ports.keyVault,
    hosts: env.CCS_LOCAL_HOSTS
      ? env.CCS_LOCAL_HOSTS.split(',')
          .map((h) => h.trim())
          .filter(Boolean)
      : undefined,
    demoSites: env.CCS_LOCAL_DEMO_SITES !== '0',
    progress: progressFor(process.stdout),
  });
  lock.setApi(stack.info.api);
  say(
    `Local stack ready: API ${stack.info.api}, console ${stack.info.api}/console/, ccs-id "${stack.info.ccsId}" with hosts ${stack.info.hosts.join(', ')}; details in ${env.CCS_LOCAL_DIR ?? '.local'}/stack.json (Ctrl-C stops)`,
  );
} catch (error) {
  if (error instanceof StartFailure) stopWith(`${error.message} (log: ${shown(error.logFile)})`);
  if (error instanceof OlderStackRunning) stopWith(error.message, 'Local stack not started');
  stopWith(error instanceof Error ? error.message : String(error));
}

async function reset(): Promise<void> {
  const refusal = resetRefusal(dir, [LOCK_FILE]);
  if (refusal) stopWith(refusal);
  if (process.stdin.isTTY) {
    if (!(await confirmReset(shown(dir), process.stdin, process.stdout))) {
      stopWith('reset cancelled; nothing was deleted');
    }
  } else {
    say(`--reset without a terminal: deleting everything in ${shown(dir)} without asking.`);
  }
  emptyFolder(dir, [LOCK_FILE]);
}
