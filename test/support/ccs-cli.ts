/**
 * Runs the `ccs` command line as a user does — its own process through bin/ccs.mjs, stdin piped
 * (not a terminal), against a local stack found through CCS_LOCAL_DIR — and hands back its exit
 * code and output. No CCS_* variable of the calling shell leaks into it.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CCS_BIN = resolve(ROOT, 'bin/ccs.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CCS_')));
  return { ...env, NO_COLOR: '1', ...extra };
}

/** `command` and `args` as given (`sh -c …` for a shell line), `stdin` written then closed. */
export function runProcess(
  command: string,
  args: string[],
  options: { env: Record<string, string>; stdin?: string },
): Promise<CliRun> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.stdin ?? '');
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

/** `ccs <args>` with the local stack in `stackDir`. */
export function ccs(
  stackDir: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
) {
  return runProcess(process.execPath, [CCS_BIN, ...args], {
    env: { CCS_LOCAL_DIR: stackDir, ...options.env },
    stdin: options.stdin,
  });
}
