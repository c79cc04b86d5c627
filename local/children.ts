/**
 * How the local stack starts and stops its child processes (Azurite, agents) so that none can
 * outlive it: each child preloads local/lifeline.mjs and holds a pipe from this process as its
 * stdin; it stops when that pipe closes — when `stop()` closes it, or when this process ends
 * in any way, SIGKILL included, because the operating system closes it then.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

/**
 * The preload that makes a child stop when its parent's pipe closes, as a file: URL (`--import`
 * takes a URL or a specifier; a Windows path `C:\…` would read as the scheme `c:`).
 */
export const LIFELINE = new URL('./lifeline.mjs', import.meta.url).href;

export interface WatchedChild {
  process: ChildProcess;
  /** Resolves when the child has exited (at once if it already has). */
  exited(): Promise<void>;
  /**
   * Closes the lifeline (the child stops as on Ctrl-C), and kills the child if it is still
   * running after `graceMs`. Resolves once it has exited.
   */
  stop(graceMs: number): Promise<void>;
}

/**
 * Runs `node [nodeOptions] --import lifeline script ...args`. `output` receives stdout and stderr
 * (a file descriptor, 'pipe' to read them, or 'ignore'). On POSIX the child gets its own session
 * (`detached`): a Ctrl-C in the terminal reaches only the stack, which then stops its children
 * in order (agents before the storage they report to), instead of everything at once.
 */
export function spawnWatched(
  script: string,
  args: string[],
  options: { nodeOptions?: string[]; output: number | 'pipe' | 'ignore' },
): WatchedChild {
  const stdio: StdioOptions = ['pipe', options.output, options.output];
  const child = spawn(
    process.execPath,
    [...(options.nodeOptions ?? []), '--import', LIFELINE, script, ...args],
    { stdio, detached: process.platform !== 'win32', windowsHide: true },
  );
  // The child may be gone before the pipe is closed; that is not an error here.
  child.stdin?.on('error', () => undefined);
  const running = () => child.exitCode === null && child.signalCode === null;
  const exit = new Promise<void>((resolve) => {
    if (!running()) resolve();
    child.once('exit', () => resolve());
    // A child that could not be spawned at all emits 'error' and never 'exit'.
    child.once('error', () => resolve());
  });
  return {
    process: child,
    exited: () => exit,
    async stop(graceMs) {
      if (!running()) return;
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
