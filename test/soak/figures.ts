/**
 * A soak run's figures as the Markdown docs/reliability.md shows: what was issued, what the
 * operations ended as, the faults by kind and what each came to, and the violations.
 */
import type { SoakResult } from './run.js';

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

export function figuresMarkdown(result: SoakResult, date: string): string {
  const f = result.figures;
  const outcomes = (kind: string) =>
    Object.entries(f.faults.outcomes)
      .filter(([key]) => key.startsWith(`${kind}: `))
      .map(([key, n]) => `${key.slice(kind.length + 2)} ${n}`)
      .join('; ');
  const lines = [
    `_Run on ${date}: \`npm run soak -- --hosts ${f.hosts} --changes ${sum(f.driver.changes)} --seed ${f.seed}\` (${f.options}); Node ${process.version}._`,
    '',
    row(['What', 'Figure']),
    row(['---', '---']),
    row(['Seed', f.seed]),
    row(['Hosts (agent processes)', f.hosts]),
    row(['Duration', `${Math.round(f.durationSeconds / 60)} min`]),
    row(['Changes issued', `${sum(f.driver.changes)} (${list(f.driver.changes)})`]),
    row(['Write requests', `${f.driver.requests} (answers: ${list(f.driver.answers)})`]),
    row(['Operations', list(f.driver.operations)]),
    row(['Faults injected', f.faultsTotal]),
    row(['Events in the history', f.events]),
    row(['Answers off the OpenAPI document (or none at all)', f.contractBreaches.length]),
    row(['GETs sent again after a connection failure', f.retriedGets?.length ?? 0]),
    row(['**Invariant violations**', `**${result.check.violations.length}**`]),
    '',
    row(['Fault', 'Injected', 'What they came to']),
    row(['---', '---', '---']),
    ...Object.entries(f.faults.injected)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, n]) => row([`\`${kind}\``, n, outcomes(kind)])),
  ];
  return lines.join('\n');
}
