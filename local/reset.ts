/**
 * `npm start -- --reset`: start from an empty data folder. On a terminal it asks first; without
 * one (a script, CI) the flag itself is the confirmation. It refuses a folder that does not look
 * like a local stack's, so a mistyped CCS_LOCAL_DIR cannot empty someone's home folder.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';

/** Files only a local stack writes; a folder with none of them (and not empty) is not reset. */
const STACK_MARKERS = ['stack-secrets.json', 'stack.json', 'azurite', 'keyvault.json'];

/** Why `dir` must not be emptied, or null when it may (it is missing, empty or a stack's). */
export function resetRefusal(dir: string, keep: string[]): string | null {
  if (!existsSync(dir)) return null;
  const entries = readdirSync(dir).filter((name) => !keep.includes(name));
  if (entries.length === 0 || STACK_MARKERS.some((marker) => entries.includes(marker))) return null;
  return `${dir} does not look like a local stack's folder (none of ${STACK_MARKERS.join(', ')}); not deleting anything there`;
}

/** Asks on the terminal; true only for an explicit yes. */
export async function confirmReset(
  dir: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<boolean> {
  const prompt = createInterface({ input, output });
  // Ctrl-C at the question reaches readline, not the process: it means no.
  const cancel = new AbortController();
  prompt.once('SIGINT', () => cancel.abort());
  try {
    const answer = await prompt.question(
      `Delete everything in ${dir} (storage data, secrets, certificates, logs) and start afresh? [y/N] `,
      { signal: cancel.signal },
    );
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    prompt.close();
  }
}

/** Deletes everything in `dir` except the names in `keep` (the lock of the stack resetting it). */
export function emptyFolder(dir: string, keep: string[]): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (!keep.includes(name)) rmSync(join(dir, name), { recursive: true, force: true, maxRetries: 3 });
  }
}
