/** README.md's "Project layout" names every top-level folder of the tree, and only folders that exist. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The layout block: one entry per line starting with `name/`. */
function layout(markdown: string): { folders: string[]; block: string } {
  const block = /## Project layout\n\n```\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';
  const folders = [...block.matchAll(/^(\S+)\/\s/gm)].map((m) => m[1]!);
  return { folders, block };
}

describe("README's project layout", () => {
  const { folders, block } = layout(README);
  const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.includes('/'))
    .map((f) => f.split('/')[0]!);

  it('lists exactly the top-level folders git tracks', () => {
    expect(folders.sort()).toEqual([...new Set(tracked)].sort());
  });

  it('names only sub-folders and files that exist', () => {
    let parent = '';
    for (const line of block.split('\n')) {
      const top = /^(\S+)\//.exec(line)?.[1];
      if (top) parent = top;
      for (const [, name] of line.matchAll(/(?<![\w./])([a-z][a-z0-9-]*\/)(?=[\s,)]|$)/g)) {
        if (name === `${top}/`) continue;
        const candidates = [join(ROOT, parent, name!), join(ROOT, name!)];
        expect(
          candidates.some((c) => existsSync(c)),
          `${name} (${line.trim()})`,
        ).toBe(true);
      }
    }
  });

  it('notices a folder it does not list', () => {
    expect(layout(README.replace(/^bench\/.*\n/m, '')).folders).not.toContain('bench');
  });
});
