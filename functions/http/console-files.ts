/**
 * The operator console's built files (`npm run build` writes them to dist/console; the deployment
 * package carries them): where they are, which request paths may name one, and what type each is.
 * Only names Vite emits are served — letters, digits, `.`, `_`, `-` in each segment, no segment
 * starting with a dot — so no path, however encoded, leaves the folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/**
 * Compiled (dist/functions/http/console-files.js) the files are in dist/console; run from source
 * (the local stack runs functions/ through tsx) they are in the same dist/console.
 */
export const CONSOLE_DIR = import.meta.url.endsWith('.js')
  ? join(HERE, '../../console')
  : join(HERE, '../../dist/console');

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
};

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export interface ConsoleFile {
  body: Buffer;
  type: string;
  /** Vite names every file under assets/ by its content hash: it never changes. */
  immutable: boolean;
}

/** The file a request path names ('' is the page itself), or null when it names none. */
export async function readConsoleFile(path: string, dir = CONSOLE_DIR): Promise<ConsoleFile | null> {
  const segments = path === '' ? ['index.html'] : path.split('/');
  if (segments.length > 4 || !segments.every((s) => SEGMENT.test(s))) return null;
  const type = TYPES[/\.([a-z0-9]+)$/.exec(segments[segments.length - 1] ?? '')?.[1] ?? ''];
  if (type === undefined) return null;
  try {
    const body = await readFile(join(dir, ...segments));
    return { body, type, immutable: segments[0] === 'assets' };
  } catch {
    return null;
  }
}
