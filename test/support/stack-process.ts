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
): Promise<StackProcess> {
  const stackFile = join(dir, 'stack.json');
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    env: { ...process.env, CCS_LOCAL_DIR: dir, PORT: '0', CCS_LOCAL_DRIFT_SECONDS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
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
        if (child.exitCode !== null) return resolve();
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
