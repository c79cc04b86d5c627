/**
 * The Function App's deployment package, built the way `azd deploy` builds it for
 * `host: function` with `remoteBuild: false` (Azure/azure-dev, pkg/project: the Node framework
 * runs the `build` script, then `createDeployableZip` walks the project folder and leaves out
 * `.azure/`, the ignore file itself, `local.settings.json` and whatever `.funcignore` — read
 * with a gitignore parser — excludes; an excluded folder is not entered). The package must hold
 * the compiled API, host.json, package.json and the production dependencies, and nothing else:
 * above all not .local/ (the local vault's secrets and the stack's tokens).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import ignoreModule from 'ignore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../local/console-build.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** The CommonJS module is the factory itself; its typings only declare it as `default`. */
const ignore = ignoreModule.default;
const IGNORE_FILE = '.funcignore';

/** The files azd would zip, relative to the project folder. */
function packageFiles(root: string): string[] {
  const rules = ignore().add(readFileSync(join(root, IGNORE_FILE), 'utf8'));
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const isDir = entry.isSymbolicLink() ? statSync(path).isDirectory() : entry.isDirectory();
      if (isDir && entry.name === '.azure') continue;
      if (!isDir && (entry.name === IGNORE_FILE || entry.name === 'local.settings.json')) continue;
      const rel = relative(root, path).split('\\').join('/');
      if (rules.ignores(isDir ? `${rel}/` : rel)) continue;
      if (isDir) walk(path);
      else files.push(rel);
    }
  };
  walk(root);
  return files.sort();
}

/** The packages npm installed for production (package-lock.json entries without `dev`), by folder. */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([key, meta]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) && !meta.dev && !meta.devOptional)
    .map(([key]) => key)
    .sort();
}

/** The top-level packages of a file list (`node_modules/x` or `node_modules/@scope/x`). */
const packagesIn = (files: string[]): string[] =>
  [
    ...new Set(
      files
        .filter((f) => f.startsWith('node_modules/'))
        .map((f) => /^node_modules\/(@[^/]+\/)?[^/]+/.exec(f)![0]),
    ),
  ].sort();

let files: string[];
let staged: string;

beforeAll(async () => {
  // azd's Build and Package steps both run the `build` script: tsc -p tsconfig.build.json, then
  // the console's build (dist/console; Vitest's global setup built it already when it was stale).
  await ensureConsoleBuilt();
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
    },
  );
  files = packageFiles(ROOT);
  staged = mkdtempSync(join(tmpdir(), 'ccs-package-'));
  for (const file of files) {
    mkdirSync(join(staged, dirname(file)), { recursive: true });
    cpSync(join(ROOT, file), join(staged, file));
  }
}, 120_000);
afterAll(() => rmSync(staged, { recursive: true, force: true }));

describe('the deployment package (azd deploy)', () => {
  it('holds the compiled API, host.json, package.json and node_modules, and nothing else', () => {
    const top = new Map<string, number>();
    for (const file of files) {
      const key = file.includes('/') ? `${file.split('/')[0]}/` : file;
      top.set(key, (top.get(key) ?? 0) + 1);
    }
    // The listing, for whoever reads the test output.
    console.info(`package: ${files.length} files — ${[...top].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    expect([...top.keys()].sort()).toEqual(['dist/', 'host.json', 'node_modules/', 'package.json']);
    const dist = new Set(files.filter((f) => f.startsWith('dist/')).map((f) => f.split('/')[1]));
    expect([...dist].sort()).toEqual(['console', 'functions', 'shared']);
    expect(files).toContain('dist/functions/index.js');
    expect(files).toContain('dist/console/index.html');
    // Besides the console's page, styles and icon, only compiled JavaScript (no maps, no sources).
    expect(
      files.filter((f) => f.startsWith('dist/') && !f.startsWith('dist/console/') && !f.endsWith('.js')),
    ).toEqual([]);
  });

  it('carries exactly the production dependencies of package-lock.json', () => {
    const expected = productionPackages();
    const shipped = packagesIn(files);
    const missing = expected.filter((p) => !shipped.includes(p)).map((p) => `!/${p}/`);
    const extra = shipped.filter((p) => !expected.includes(p));
    expect({ 'add to .funcignore': missing, 'dev dependencies shipped': extra }).toEqual({
      'add to .funcignore': [],
      'dev dependencies shipped': [],
    });
  });

  it('keeps every local secret, tool and test out', () => {
    for (const prefix of [
      '.local/',
      '.tools/',
      'test/',
      'bench/',
      'infra/',
      'agent/',
      'local/',
      'scripts/',
      '.git/',
    ]) {
      expect(
        files.filter((f) => f.startsWith(prefix)),
        prefix,
      ).toEqual([]);
    }
    expect(files.some((f) => /(^|\/)(stack|stack-secrets|keyvault)\.json$/.test(f))).toBe(false);
  });

  it('runs on its own: the entry point loads with the production dependencies only', async () => {
    const load = `import('./dist/functions/index.js').then((m) => console.log(m.httpRoutes.length))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', load], {
      cwd: staged,
    });
    expect(Number(stdout.trim().split('\n').pop())).toBeGreaterThan(10);
  }, 30_000);

  it('serves the console from the package: the compiled route finds dist/console', async () => {
    const read = `import('./dist/functions/http/console-files.js').then(async (m) => console.log((await m.readConsoleFile(''))?.type))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', read], {
      cwd: staged,
    });
    expect(stdout.trim()).toBe('text/html; charset=utf-8');
  }, 30_000);
});
