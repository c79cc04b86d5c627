/**
 * Vitest's global setup: the operator console is built (only when its sources changed since the
 * last build) once, before any test file runs — the stacks the tests start then find it fresh
 * and none of them builds it while another serves it.
 */
import { ensureConsoleBuilt } from '../../local/console-build.js';

export default async function setup(): Promise<void> {
  await ensureConsoleBuilt();
}
