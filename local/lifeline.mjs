/**
 * Preloaded (`node --import <this file> …`) into every process the local stack starts: the
 * Azurite CLIs and the agents. The stack keeps the write end of the child's stdin pipe open and
 * never writes to it. When the stack's main process ends — Ctrl-C, a crash, SIGKILL, a closed
 * terminal — the operating system closes that end and this process reads end-of-file: on POSIX
 * the pipe's last writer is gone, on Windows the named pipe libuv made for stdin breaks
 * (ERROR_BROKEN_PIPE, which libuv reports as EOF). The stack's own graceful stop closes the
 * same pipe, so there is one stop path on every platform, signals or not.
 *
 * On end-of-file the process is asked to stop as on Ctrl-C (Azurite's table service flushes its
 * database only on SIGINT; the agent finishes the message in hand), and exits regardless after
 * a grace period. Plain JavaScript on purpose: Azurite is a third-party CLI and runs without our
 * TypeScript loader, which would double its start-up time.
 */
import process from 'node:process';
import { setTimeout } from 'node:timers';

const GRACE_MS = 10_000;

let stopping = false;
// A Ctrl-C in a Windows console reaches every process attached to it, so the child may already
// be stopping on its own SIGINT when the stack closes the pipe; a second SIGINT would cut that
// short (the agent exits at once; Azurite's table service listens only once).
let interrupted = false;
function onSigint() {
  interrupted = true;
  // This listener must not change what SIGINT does: with no other listener, do what Node does.
  if (process.listenerCount('SIGINT') === 0) process.kill(process.pid, 'SIGINT');
}
process.once('SIGINT', onSigint);

function stop() {
  if (stopping) return;
  stopping = true;
  // Whatever still runs after the grace period is stopped without ceremony; unref'd, so a
  // process that finishes sooner exits on its own.
  setTimeout(() => process.exit(1), GRACE_MS).unref();
  if (interrupted) return;
  // Still starting (no SIGINT handler of its own yet): nothing to finish.
  if (process.listeners('SIGINT').every((listener) => listener === onSigint)) process.exit(0);
  process.emit('SIGINT', 'SIGINT');
}

// Output may go to a pipe to the stack (Azurite's does); once the stack is gone, writing there
// fails with EPIPE, which must not crash the process before it has stopped cleanly.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

const lifeline = process.stdin;
lifeline.on('end', stop);
lifeline.on('close', stop);
lifeline.on('error', stop);
lifeline.resume();
// Reading must not keep the process alive by itself: an Azurite server that closes should exit.
if (typeof lifeline.unref === 'function') lifeline.unref();
