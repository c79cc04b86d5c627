/**
 * Crash points for fault-injection tests: the agent kills itself with SIGKILL — no cleanup, no
 * flush, exactly like a power cut or `taskkill /F` — at a named step of handling a command, so a
 * test can prove that a restart converges with no lost and no doubled change.
 *
 * Armed only by environment variables, outside tests never set (every call is then a no-op):
 * - `CCS_AGENT_TEST_CRASH_AT=<step>[:<command type>[:<generation>]]` (e.g. `after-apply:apply`, or
 *   `before-report:apply:7` for generation 7's apply only), read at start;
 * - `CCS_AGENT_TEST_CRASH_FILE=<file>`: the same spec written into that file later arms a
 *   running agent once — the file is removed before the kill, so the restarted agent lives.
 *   Naming the generation keeps a late duplicate of an earlier command (a redelivery, a
 *   re-issue) from spending the one-shot crash meant for the change under test.
 *
 * Steps, in the order a command meets them:
 *
 *   after-receive   the message is invisible on the queue, nothing else has happened
 *   after-secrets   preflight passed: the secret versions are fetched and checked, IIS untouched
 *   after-apply     IIS holds the new state, the applied generation is not persisted yet
 *   before-report   the generation is persisted, the report is not sent (message not deleted)
 *   after-report    the report is sent, the message is not deleted yet (it comes back)
 *
 * and one of the elected publisher's run (agent/publish/runner.ts), `publish-mid-write:publish`:
 *
 *   publish-mid-write  a temporary file of the run is written; nothing is renamed, no record changed
 */
import { readFileSync, rmSync } from 'node:fs';

export const CRASH_STEPS = [
  'after-receive',
  'after-secrets',
  'after-apply',
  'before-report',
  'after-report',
  'publish-mid-write',
] as const;
export type CrashStep = (typeof CRASH_STEPS)[number];

export const CRASH_ENV = 'CCS_AGENT_TEST_CRASH_AT';
export const CRASH_FILE_ENV = 'CCS_AGENT_TEST_CRASH_FILE';

interface CrashSpec {
  step: string;
  type: string | undefined;
  generation: number | undefined;
}

/** The command a crash point is reached for: only what a spec can name. */
export interface CrashSubject {
  type: string;
  /** Absent on commands of no generation (a publish run). */
  generation?: number;
}

function parse(spec: string | undefined): CrashSpec | null {
  if (!spec?.trim()) return null;
  const [step = '', type, generation] = spec.trim().split(':');
  return { step, type: type || undefined, generation: generation ? Number(generation) : undefined };
}

const armed = parse(process.env[CRASH_ENV]);
const armFile = process.env[CRASH_FILE_ENV]?.trim() || undefined;

/** Whether a crash spec (`<step>[:<type>[:<generation>]]`) names this step of this command. */
export function crashSpecMatches(text: string | undefined, step: CrashStep, command: CrashSubject): boolean {
  return matches(parse(text), step, command);
}

function matches(spec: CrashSpec | null, step: CrashStep, command: CrashSubject): boolean {
  return (
    spec !== null &&
    spec.step === step &&
    (spec.type === undefined || spec.type === command.type) &&
    (spec.generation === undefined || spec.generation === command.generation)
  );
}

/** Dies here, by SIGKILL, when the crash point armed for this process is `step` (for this command). */
export function crashPoint(step: CrashStep, command: CrashSubject): void {
  if (matches(armed, step, command)) process.kill(process.pid, 'SIGKILL');
  if (armFile === undefined) return;
  let spec: string;
  try {
    spec = readFileSync(armFile, 'utf8');
  } catch {
    return; // not armed
  }
  if (!matches(parse(spec), step, command)) return;
  rmSync(armFile, { force: true });
  process.kill(process.pid, 'SIGKILL');
}
