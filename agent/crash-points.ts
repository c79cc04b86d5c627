/**
 * Crash points for fault-injection tests: the agent kills itself with SIGKILL — no cleanup, no
 * flush, exactly like a power cut or `taskkill /F` — at a named step of handling a command, so a
 * test can prove that a restart converges with no lost and no doubled change.
 *
 * Armed only by environment variables, outside tests never set (every call is then a no-op):
 * - `CCS_AGENT_TEST_CRASH_AT=<step>[:<command type>]` (e.g. `after-apply:apply`), read at start;
 * - `CCS_AGENT_TEST_CRASH_FILE=<file>`: the same spec written into that file later arms a
 *   running agent once — the file is removed before the kill, so the restarted agent lives.
 *
 * Steps, in the order a command meets them:
 *
 *   after-receive   the message is invisible on the queue, nothing else has happened
 *   after-secrets   preflight passed: the secret versions are fetched and checked, IIS untouched
 *   after-apply     IIS holds the new state, the applied generation is not persisted yet
 *   before-report   the generation is persisted, the report is not sent (message not deleted)
 *   after-report    the report is sent, the message is not deleted yet (it comes back)
 */
import { readFileSync, rmSync } from 'node:fs';

export const CRASH_STEPS = [
  'after-receive',
  'after-secrets',
  'after-apply',
  'before-report',
  'after-report',
] as const;
export type CrashStep = (typeof CRASH_STEPS)[number];

export const CRASH_ENV = 'CCS_AGENT_TEST_CRASH_AT';
export const CRASH_FILE_ENV = 'CCS_AGENT_TEST_CRASH_FILE';

function parse(spec: string | undefined): { step: string; type: string | undefined } | null {
  if (!spec?.trim()) return null;
  const [step = '', type] = spec.trim().split(':');
  return { step, type: type || undefined };
}

const armed = parse(process.env[CRASH_ENV]);
const armFile = process.env[CRASH_FILE_ENV]?.trim() || undefined;

function matches(spec: ReturnType<typeof parse>, step: CrashStep, commandType: string): boolean {
  return spec !== null && spec.step === step && (spec.type === undefined || spec.type === commandType);
}

/** Dies here, by SIGKILL, when the crash point armed for this process is `step` (for `commandType`). */
export function crashPoint(step: CrashStep, commandType: string): void {
  if (matches(armed, step, commandType)) process.kill(process.pid, 'SIGKILL');
  if (armFile === undefined) return;
  let spec: string;
  try {
    spec = readFileSync(armFile, 'utf8');
  } catch {
    return; // not armed
  }
  if (!matches(parse(spec), step, commandType)) return;
  rmSync(armFile, { force: true });
  process.kill(process.pid, 'SIGKILL');
}
