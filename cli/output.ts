/** What `ccs` prints: aligned tables for people, the API's own JSON (`--json`) for scripts. */
import type { Writable } from 'node:stream';

export interface Output {
  out: Writable;
  err: Writable & { isTTY?: boolean };
  json: boolean;
}

export function printJson(output: Output, value: unknown): void {
  output.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `--json`: the API's JSON as it came; otherwise what `forPeople` prints. */
export function show(output: Output, data: unknown, forPeople: () => void): void {
  if (output.json) printJson(output, data);
  else forPeople();
}

export function line(output: Output, text = ''): void {
  output.out.write(`${text}\n`);
}

/** Columns padded to their widest cell; the header underlined by spacing only (copy-paste safe). */
export function table(
  output: Output,
  header: string[],
  rows: (string | number | null | undefined)[][],
): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const row of cells) {
    line(
      output,
      row
        .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    );
  }
}
