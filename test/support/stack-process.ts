/**
 * Runs `npm start`'s entry point as a real process tree (Azurite processes, agent processes)
 * in a temporary folder, and waits for `.local/stack.json` as a newcomer's tools would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { StackInfo } from '../../local/stack.js';
import { checkedFetch } from './openapi-validator.js';
import { isAlive, listProcesses, type ProcessEntry } from '../../local/processes.js';

/** Extra command-line arguments (`--reset`) and environment for `npm start`. */
export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
}

function spawnStart(dir: string, options: StartOptions): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...(options.args ?? [])], {
    env: { ...process.env, CCS_LOCAL_DIR: dir, PORT: '0', CCS_LOCAL_DRIFT_SECONDS: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A start that is expected to end by itself (a refusal, a failure): its exit code and output. */
export async function runStartToExit(
  dir: string,
  options: StartOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnStart(dir, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** Processes whose command line names `dir`: what a stack started there runs (Azurite, agents). */
export async function processesOf(dir: string): Promise<ProcessEntry[]> {
  return (await listProcesses()).filter((p) => p.command.includes(dir) && p.pid !== process.pid);
}

/** Polls until none of `pids` is alive, for at most `timeoutMs`; returns those still alive. */
export async function waitUntilGone(pids: number[], timeoutMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await delay(100);
  return pids.filter(isAlive);
}

export interface StackProcess {
  dir: string;
  info: StackInfo;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
  request(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string>; token?: string },
  ): Promise<Response>;
}

export async function startStackProcess(
  dir = mkdtempSync(join(tmpdir(), 'ccs-stack-')),
  options: StartOptions = {},
): Promise<StackProcess> {
  const stackFile = join(dir, 'stack.json');
  let output = '';
  const child = spawnStart(dir, options);
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 90_000;
  while (!/Local stack ready/.test(output)) {
    if (child.exitCode !== null) throw new Error(`stack exited: ${output}`);
    if (Date.now() > deadline) throw new Error(`stack not ready: ${output}`);
    await delay(100);
  }
  if (!existsSync(stackFile)) throw new Error('stack.json missing after the ready line');
  const info = JSON.parse(readFileSync(stackFile, 'utf8')) as StackInfo;
  return {
    dir,
    info,
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
    request: (method, path, init = {}) => {
      const headers: Record<string, string> = {
        'Access-Token': `Bearer ${init.token ?? info.accessToken}`,
        ...init.headers,
      };
      let body: string | undefined;
      if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['Content-Type'] = 'application/json';
      }
      return checkedFetch(`${info.api}${path}`, { method, headers, body });
    },
  };
}
