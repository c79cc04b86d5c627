/**
 * Runs one command and turns whatever it threw into the API's words on stderr — the field at
 * fault, what the API said, and what to do — and an exit code (exit-codes.ts).
 */
import { adviceFor, ApiError, UnreachableError } from '../client/errors.js';
import { CliError, EXIT, EXIT_BY_KIND } from './exit-codes.js';
import type { Output } from './output.js';

export function report(output: Output, error: unknown): number {
  const say = (text: string) => output.err.write(`${text}\n`);
  if (error instanceof ApiError) {
    say(`ccs: ${error.status} ${error.message}`);
    const advice = adviceFor(error);
    if (advice) say(`  ${advice}`);
    // Issue 13's API: disabling (or a change) would take certificates away from sites that use CCS.
    if (error.code === 'SitesUseCcs' || error.code === 'BoundNamesUncovered')
      say('  Or repeat with --force if those sites may lose their certificates.');
    return EXIT_BY_KIND[error.kind];
  }
  if (error instanceof UnreachableError) {
    say(`ccs: ${error.message}`);
    say('  Check --api / CCS_API, and that the API is running (npm start for the local stack).');
    return EXIT.unreachable;
  }
  if (error instanceof CliError) {
    say(`ccs: ${error.message}`);
    if (error.advice) say(`  ${error.advice}`);
    return error.exitCode;
  }
  say(`ccs: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT.unreachable;
}
