/**
 * Builds the operator console (console/, Vite) into dist/console, where the Function App's
 * console route serves it from (functions/http/console-files.ts) — for `npm run build`, and for
 * `npm start` and the tests only when its sources changed since the last build (a hash of
 * console/, client/ and package-lock.json, kept in dist/console-build.json). The build goes to a
 * temporary folder first and replaces dist/console in one rename, so a running server never
 * serves half a build. Run: `node --import tsx local/console-build.ts [--if-stale]`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(import.meta.dirname, '..');
export const CONSOLE_OUT = join(ROOT, 'dist', 'console');
const STAMP = join(ROOT, 'dist', 'console-build.json');
const SOURCES = ['console', 'client', 'package-lock.json'];

export interface BuiltFile {
  file: string;
  bytes: number;
  gzip: number;
}

export interface ConsoleBuild {
  sourceHash: string;
  files: BuiltFile[];
}

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export function consoleSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of SOURCES.flatMap((s) => filesUnder(join(ROOT, s)))) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** The last build's record, when dist/console is there and was built from these sources. */
export function currentBuild(): ConsoleBuild | null {
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8')) as ConsoleBuild;
    return existsSync(join(CONSOLE_OUT, 'index.html')) && stamp.sourceHash === consoleSourceHash()
      ? stamp
      : null;
  } catch {
    return null;
  }
}

export async function buildConsole(): Promise<ConsoleBuild> {
  const sourceHash = consoleSourceHash();
  const staging = `${CONSOLE_OUT}.staging-${process.pid}`;
  const { build } = await import('vite');
  await build({
    configFile: join(ROOT, 'console', 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: staging, emptyOutDir: true },
  });
  const files = filesUnder(staging).map((path) => {
    const body = readFileSync(path);
    return { file: relative(staging, path), bytes: body.length, gzip: gzipSync(body).length };
  });
  rmSync(CONSOLE_OUT, { recursive: true, force: true });
  try {
    renameSync(staging, CONSOLE_OUT);
  } catch (error) {
    // Another process built the same sources at the same moment and renamed first: keep its build.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(CONSOLE_OUT, 'index.html'))) throw error;
  }
  const record = { sourceHash, files };
  writeFileSync(STAMP, `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/** Builds only when the sources changed since the last build; says which it did. */
export async function ensureConsoleBuilt(): Promise<{ built: boolean; build: ConsoleBuild }> {
  const current = currentBuild();
  return current ? { built: false, build: current } : { built: true, build: await buildConsole() };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

/** One line per file: what a browser downloads (gzip) and what it parses. */
export function sizeReport(build: ConsoleBuild): string {
  return build.files
    .map((f) => `  ${f.file.padEnd(36)} ${kb(f.bytes).padStart(9)}  gzip ${kb(f.gzip).padStart(8)}`)
    .join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ifStale = process.argv.includes('--if-stale');
  const { built, build } = ifStale
    ? await ensureConsoleBuilt()
    : { built: true, build: await buildConsole() };
  process.stdout.write(`console ${built ? 'built' : 'up to date'} in dist/console:\n${sizeReport(build)}\n`);
}
