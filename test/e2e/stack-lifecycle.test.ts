/**
 * `npm start` when something is in the way, and how it ends: a busy port, a failure after
 * storage has started, a second start in the same folder, the main process SIGKILLed, its stale
 * lock and an older stack's leftover processes at the next start, and `--reset`. Real processes
 * throughout; "no child left" is polled for with a generous deadline, never timed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  processesOf,
  runStartToExit,
  startStackProcess,
  waitUntilGone,
  type StackProcess,
} from '../support/stack-process.js';
import type { LockOwner } from '../../local/stack-lock.js';

const freshDir = () => mkdtempSync(join(tmpdir(), 'ccs-lifecycle-'));
const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');
const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

describe('npm start: failures say what and where, and leave nothing running', () => {
  it('refuses a busy API port: exit 1, one line naming the port, its holder and PORT, no child left', async () => {
    const dir = freshDir();
    const { port } = await holdPort();
    const run = await runStartToExit(dir, { env: { PORT: String(port) } });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toContain(`port ${port} (the API) is already in use`);
    expect(run.stderr).toContain('set PORT to another port');
    // This test process holds the port; Linux names it from /proc.
    if (process.platform === 'linux') expect(run.stderr).toContain(`(pid ${process.pid})`);
    expect(await processesOf(dir)).toEqual([]);
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
  }, 60_000);

  it('fails after storage has started: one line with the stage and its log, and stops every child', async () => {
    const dir = freshDir();
    // No openssl on PATH: the Key Vault stage, after Azurite's processes are running, fails.
    const run = await runStartToExit(dir, { env: { PATH: join(dir, 'no-tools-here') } });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^storage: Azurite, queues on port \d+, tables on port \d+$/m);
    expect(lines(run.stderr)).toEqual([
      `Local stack failed to start: Key Vault: the openssl command was not found; install OpenSSL and make sure it is on PATH (log: ${join(dir, 'logs', 'api.log')})`,
    ]);
    expect(readFileSync(join(dir, 'logs', 'api.log'), 'utf8')).toContain('"stage":"Key Vault"');
    const left = await processesOf(dir);
    expect(await waitUntilGone(left.map((p) => p.pid))).toEqual([]);
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
  }, 90_000);
});

describe('npm start: one stack per folder, no orphans, stale state cleaned up', () => {
  const dir = freshDir();
  let first: StackProcess;
  let children: number[] = [];
  // Runs last: whatever a failed assertion left running in this folder is killed.
  cleanups.push(async () => {
    for (const p of await processesOf(dir)) process.kill(p.pid, 'SIGKILL');
  });

  it('starts and records its pid and API in the folder lock', async () => {
    first = await startStackProcess(dir);
    cleanups.push(() => first.stop());
    const lock = JSON.parse(readFileSync(join(dir, 'stack.lock'), 'utf8')) as LockOwner;
    expect(lock).toMatchObject({ pid: first.child.pid, api: first.info.api });
    expect(first.output()).toMatch(/^agents: 2\/2 enrolled \(web-01, web-02\)$/m);
    expect(first.output()).not.toContain('WARNING');
  }, 120_000);

  it('refuses a second start in the same folder, saying where the running one is', async () => {
    const run = await runStartToExit(dir);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([
      `Local stack not started: a local stack is already running in ${dir} (pid ${first.child.pid}, API ${first.info.api}); use it, or stop it first (Ctrl-C in its terminal, or kill ${first.child.pid})`,
    ]);
    // The running stack is untouched.
    const res = await first.request('GET', '/ccs-ids');
    expect(res.status).toBe(200);
  }, 60_000);

  it('leaves no child alive once its main process is SIGKILLed', async () => {
    const mine = (await processesOf(dir)).filter((p) => p.ppid === first.child.pid);
    expect(mine.map((p) => (/azurite/.test(p.command) ? 'Azurite' : 'agent')).sort()).toEqual([
      'Azurite',
      'Azurite',
      'agent',
      'agent',
    ]);
    children = mine.map((p) => p.pid);
    first.child.kill('SIGKILL');
    expect(await waitUntilGone(children)).toEqual([]);
  }, 60_000);

  it('takes over the stale lock, stops an older stack’s leftovers and honours --reset without a terminal', async () => {
    expect(existsSync(join(dir, 'stack.lock'))).toBe(true);
    // What an older version left behind: an Azurite with no parent stack, holding the data folder.
    const require = createRequire(import.meta.url);
    const leftover = spawn(
      process.execPath,
      [
        require.resolve('azurite/dist/src/queue/main.js'),
        '--location',
        join(dir, 'azurite'),
        '--queuePort',
        '0',
        '--disableTelemetry',
        '--silent',
      ],
      { stdio: 'ignore' },
    );
    cleanups.push(() => void (exited(leftover) || leftover.kill('SIGKILL')));
    writeFileSync(join(dir, 'marker.txt'), 'deleted by --reset');
    const oldToken = first.info.accessToken;

    const next = await startStackProcess(dir, { args: ['--reset'] });
    cleanups.push(() => next.stop());
    const out = next.output();
    expect(out).toContain(
      `Taking over ${dir} from a stack that is no longer running (pid ${first.child.pid}).`,
    );
    expect(out).toContain(
      `Stopped 1 process an earlier stack left running in ${dir}: Azurite (pid ${leftover.pid}).`,
    );
    expect(out).toContain(`--reset without a terminal: deleting everything in ${dir} without asking.`);
    expect(await waitUntilGone([leftover.pid!])).toEqual([]);
    expect(existsSync(join(dir, 'marker.txt'))).toBe(false);
    expect(next.info.accessToken).not.toBe(oldToken);

    await next.stop();
    expect(next.child.exitCode).toBe(0);
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
    expect(await waitUntilGone((await processesOf(dir)).map((p) => p.pid))).toEqual([]);
  }, 120_000);
});
