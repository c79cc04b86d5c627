/**
 * The source tree's import graph has no cycles: a module that imports, through any chain, a
 * module that imports it back cannot be understood (or loaded) on its own. ESLint's layering
 * rules (eslint.config.js) keep the directions; this keeps the loops out.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** The TypeScript file an import of `x.js` means: `x.ts`, or `x.tsx` (the console's components). */
function tsSource(imported: string): string {
  const ts = imported.replace(/\.js$/, '.ts');
  return existsSync(ts) ? ts : imported.replace(/\.js$/, '.tsx');
}

/** Relative imports and re-exports (type-only ones too: a type cycle is still a cycle to a reader). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms)].map((m) =>
    tsSource(resolve(dirname(file), m[1]!)),
  );
}

/** Every cycle reachable in `graph` (module → the modules it imports), as paths from the tree's root. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): void => {
    const at = path.indexOf(file);
    if (at >= 0) {
      found.push(path.slice(at).map((f) => relative(ROOT, f)));
      return;
    }
    if (done.has(file)) return;
    path.push(file);
    for (const dep of graph.get(file) ?? []) visit(dep);
    path.pop();
    done.add(file);
  };
  [...graph.keys()].forEach(visit);
  return found;
}

describe('the import graph', () => {
  const files = ['functions', 'shared', 'agent', 'local', 'client', 'cli', 'console/src'].flatMap(sources);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));

  it('reads the imports of every module', () => {
    expect(graph.get(join(ROOT, 'shared/auth/authenticate.ts'))?.map((f) => relative(ROOT, f))).toContain(
      'shared/auth/entra.ts',
    );
  });

  it('has no cycle in functions/, shared/, agent/ or local/', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (entra.ts importing authenticate.ts back, as it once did)', () => {
    const [a, b] = [join(ROOT, 'shared/auth/authenticate.ts'), join(ROOT, 'shared/auth/entra.ts')];
    expect(
      cycles(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ),
    ).toEqual([['shared/auth/authenticate.ts', 'shared/auth/entra.ts']]);
  });
});
