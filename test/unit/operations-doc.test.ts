/** docs/operations.md draws the state machine; the drawing and the code's TRANSITIONS agree. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRANSITIONS } from '../../shared/services/operation-machine.js';

const DOC = readFileSync(resolve(import.meta.dirname, '../../docs/operations.md'), 'utf8');

/** The `from --> to: when` lines of the page's Mermaid state diagram (`[*]` is `start`). */
function drawn(markdown: string): string[] {
  const block = /```mermaid\n(stateDiagram-v2\n[\s\S]*?)```/.exec(markdown)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => /^\s*(\S+)\s+-->\s+(\S+)\s*:\s*(.+?)\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, from, to, when]) => `${from === '[*]' ? 'start' : from} -> ${to}: ${when}`);
}

const coded = Object.values(TRANSITIONS).map((t) => `${t.from} -> ${t.to}: ${t.when}`);

describe('docs/operations.md', () => {
  it('draws exactly the transitions the engine has', () => {
    expect(drawn(DOC).sort()).toEqual(coded.sort());
  });

  it('notices a transition missing from the drawing', () => {
    const line = `  apply --> Failed: ${TRANSITIONS['apply-timed-out'].when}\n`;
    expect(DOC).toContain(line);
    expect(drawn(DOC.replace(line, '')).sort()).not.toEqual(coded.sort());
  });
});
