/**
 * The local stack's process hygiene, one part at a time, with real processes: the lifeline that
 * stops a child when its pipe closes, the folder lock, the process table and port holders,
 * leftovers of an earlier stack, and Azurite refusing a port another program holds.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnWatched } from '../../local/children.js';
import { acquireStackLock, LOCK_FILE, StackAlreadyRunning, type LockOwner } from '../../local/stack-lock.js';
import { isAlive, listProcesses, portHolder, processStartTime } from '../../local/processes.js';
import { findLeftovers, OlderStackRunning, stopLeftovers } from '../../local/leftovers.js';
import { assertPortsFree, PortInUseError } from '../../local/busy-port.js';
import { spawnAzurite } from '../../local/azurite.js';
import { startHttpHost } from '../../local/http-host.js';
import { silentLogger } from '../../shared/log.js';
import { waitUntilGone } from '../support/stack-process.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'ccs-local-'));
const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A script that stays alive, handles SIGINT (as Azurite and the agent do), then says `ready`. */
function script(dir: string, onSigint: string): string {
  const file = join(dir, 'child.mjs');
  writeFileSync(
    file,
    `globalThis.n = 0;\nsetInterval(() => {}, 1000);\nprocess.on('SIGINT', () => { ${onSigint} });\nconsole.log('ready');\n`,
  );
  return file;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function heldPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

describe('a watched child (local/lifeline.mjs)', () => {
  it('stops as on Ctrl-C when its lifeline closes', async () => {
    const child = spawnWatched(script(tempDir(), "console.log('stopping'); process.exit(0);"), [], {
      output: 'pipe',
    });
    spawned.push(child.process);
    const output = collect(child.process);
    const closed = new Promise((resolve) => child.process.once('close', resolve));
    await until(() => output().includes('ready'));
    await child.stop(60_000);
    await closed;
    expect(child.process.exitCode).toBe(0);
    expect(output()).toContain('stopping');
  });

  it('is killed when it does not stop within the grace period', async () => {
    const child = spawnWatched(script(tempDir(), '/* ignores it */'), [], { output: 'pipe' });
    spawned.push(child.process);
    const output = collect(child.process);
    await until(() => output().includes('ready'));
    await child.stop(200);
    expect(child.process.signalCode).toBe('SIGKILL');
  });

  it('does not interrupt a child a second time when it is already stopping on its own SIGINT', async () => {
    // As after a Ctrl-C in a Windows console, which reaches every process attached to it.
    const child = spawnWatched(
      script(tempDir(), "console.log('sigint ' + ++globalThis.n); setTimeout(() => process.exit(0), 1000);"),
      [],
      { output: 'pipe' },
    );
    spawned.push(child.process);
    const output = collect(child.process);
    const closed = new Promise((resolve) => child.process.once('close', resolve));
    await until(() => output().includes('ready'));
    child.process.kill('SIGINT');
    await until(() => output().includes('sigint 1'));
    await child.stop(60_000);
    await closed;
    expect(output()).not.toContain('sigint 2');
    expect(child.process.exitCode).toBe(0);
  });

  it('stops when its parent is SIGKILLed', async () => {
    const dir = tempDir();
    const childScript = script(dir, 'process.exit(0);');
    // A parent that starts a watched child, prints its pid and waits to be killed.
    const parentFile = join(dir, 'parent.ts');
    writeFileSync(
      parentFile,
      `import { spawnWatched } from ${JSON.stringify(new URL('../../local/children.ts', import.meta.url).href)};
const child = spawnWatched(${JSON.stringify(childScript)}, [], { output: 'ignore' });
console.log(child.process.pid);
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', parentFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    spawned.push(parent);
    const output = collect(parent);
    await until(() => /^\d+\n/.test(output()) || parent.exitCode !== null);
    expect(parent.exitCode, output()).toBeNull();
    const childPid = Number(output().trim());
    expect(isAlive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    const alive = await waitUntilGone([childPid]);
    if (alive.length > 0) process.kill(childPid, 'SIGKILL'); // leave no orphan behind a failure
    expect(alive).toEqual([]);
  }, 60_000);
});

describe('the folder lock (local/stack-lock.ts)', () => {
  it('refuses a second owner while the first is alive, naming its pid and API', () => {
    const dir = tempDir();
    const { lock } = acquireStackLock(dir);
    lock.setApi('http://127.0.0.1:7071/api');
    expect(() => acquireStackLock(dir)).toThrow(StackAlreadyRunning);
    expect(() => acquireStackLock(dir)).toThrow(
      `a local stack is already running in ${dir} (pid ${process.pid}, API http://127.0.0.1:7071/api)`,
    );
    lock.release();
    const again = acquireStackLock(dir);
    expect(again.staleOwner).toBeUndefined();
    again.lock.release();
  });

  it('takes over a lock whose owner has exited', async () => {
    const dir = tempDir();
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const stale: LockOwner = { pid: gone.pid!, startedAt: '2026-01-01T00:00:00.000Z' };
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(stale));
    const { lock, staleOwner } = acquireStackLock(dir);
    expect(staleOwner).toEqual(stale);
    expect((JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockOwner).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (Linux: start time differs)', () => {
    if (processStartTime(process.pid) === undefined) return;
    const dir = tempDir();
    const recycled: LockOwner = { pid: process.pid, startTime: '1', startedAt: '2026-01-01T00:00:00.000Z' };
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(recycled));
    const { lock, staleOwner } = acquireStackLock(dir);
    expect(staleOwner).toEqual(recycled);
    lock.release();
  });

  it('takes over an unreadable lock', () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), '{"pid":');
    const { lock, staleOwner } = acquireStackLock(dir);
    expect(staleOwner?.pid).toBe(0);
    lock.release();
  });
});

describe('the process table and port holders (local/processes.ts)', () => {
  it('lists this process with its parent and command line', async () => {
    const me = (await listProcesses()).find((p) => p.pid === process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.command).toContain(process.execPath);
  });

  it('names the process listening on a port', async () => {
    const held = await heldPort();
    try {
      expect((await portHolder(held.port))?.pid).toBe(process.pid);
    } finally {
      await held.close();
    }
  });

  it('refuses a busy fixed port before anything starts, and skips port 0', async () => {
    const held = await heldPort();
    try {
      const attempt = assertPortsFree([
        { setting: 'CCS_TABLE_PORT', role: "Azurite's table service", port: 0 },
        { setting: 'PORT', role: 'the API', port: held.port },
      ]);
      await expect(attempt).rejects.toBeInstanceOf(PortInUseError);
      await expect(attempt).rejects.toThrow(
        `port ${held.port} (the API) is already in use by ${process.execPath}`,
      );
      await expect(attempt).rejects.toThrow(
        `(pid ${process.pid}); stop that program, or set PORT to another port`,
      );
    } finally {
      await held.close();
    }
    await expect(
      assertPortsFree([{ setting: 'PORT', role: 'the API', port: held.port }]),
    ).resolves.toBeUndefined();
  });

  it('rejects, not crashes, when the API port is taken', async () => {
    const held = await heldPort();
    try {
      await expect(startHttpHost({ port: held.port, log: silentLogger })).rejects.toMatchObject({
        code: 'EADDRINUSE',
        port: held.port,
      });
    } finally {
      await held.close();
    }
  });
});

describe("an earlier stack's leftovers (local/leftovers.ts)", () => {
  it('finds a process with this folder in its agent command line and stops it', async () => {
    const dir = tempDir();
    const config = join(dir, 'agents', 'web-01', 'agent.json');
    const other = tempDir();
    const leftover = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '--config', config]);
    const unrelated = spawn(process.execPath, [
      '-e',
      'setInterval(() => {}, 1000)',
      '--',
      '--config',
      join(other, 'agents', 'web-01', 'agent.json'),
    ]);
    spawned.push(leftover, unrelated);
    const found = await findLeftovers(dir);
    expect(found.map((l) => [l.pid, l.kind])).toEqual([[leftover.pid, 'agent']]);
    await stopLeftovers(found, 60_000);
    expect(isAlive(leftover.pid!)).toBe(false);
    expect(isAlive(unrelated.pid!)).toBe(true);
  });

  it('refuses when their parent is an older stack that is still running', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'azurite'));
    const childArgs = JSON.stringify([
      '-e',
      'setInterval(() => {}, 1000)',
      '--',
      'azurite',
      '--location',
      join(dir, 'azurite'),
    ]);
    // A stand-in for an older `node --import tsx local/start.ts`, running its Azurite.
    const olderStack = spawn(process.execPath, [
      '-e',
      `const c = require('node:child_process').spawn(process.execPath, ${childArgs}, { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`,
      'local/start.ts',
    ]);
    spawned.push(olderStack);
    const output = collect(olderStack);
    await until(() => /^\d+\n/.test(output()));
    const azurite = Number(output().trim());
    try {
      await expect(findLeftovers(dir)).rejects.toThrow(OlderStackRunning);
      await expect(findLeftovers(dir)).rejects.toThrow(`(pid ${olderStack.pid})`);
    } finally {
      olderStack.kill('SIGKILL');
      process.kill(azurite, 'SIGKILL');
    }
  });
});

describe('Azurite and a port another program holds (local/azurite.ts)', () => {
  it('rejects with EADDRINUSE and the port instead of mistaking the holder for Azurite, and stops both services', async () => {
    const dir = tempDir();
    const held = await heldPort();
    try {
      const attempt = spawnAzurite({
        location: join(dir, 'azurite'),
        queuePort: held.port,
        tablePort: 0,
        logFile: join(dir, 'azurite.log'),
        startTimeoutMs: 60_000,
      });
      await expect(attempt).rejects.toMatchObject({ code: 'EADDRINUSE', port: held.port });
      const azurites = (await listProcesses()).filter((p) => p.command.includes(join(dir, 'azurite')));
      expect(await waitUntilGone(azurites.map((p) => p.pid))).toEqual([]);
      expect(readFileSync(join(dir, 'azurite.log'), 'utf8')).toContain('EADDRINUSE');
    } finally {
      await held.close();
    }
  }, 90_000);
});
