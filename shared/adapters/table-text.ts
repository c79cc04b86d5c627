/**
 * Long JSON in a table row. A Table storage string property holds at most 64 KiB (32K UTF-16
 * characters) and an entity at most 1 MiB, so a long value is spread over numbered properties
 * `<name>0`, `<name>1`, … with `<name>Parts` saying how many (Azure Table service data model:
 * "Understanding the Table service data model", property limits).
 */
import type { Row } from './table-support.js';

/** Characters per property: under the 32K-character limit with room to spare. */
const PIECE = 30_000;

/** `value` as JSON spread over properties of `name`. */
export function textColumns(name: string, value: unknown): Row {
  const text = JSON.stringify(value);
  const columns: Row = {};
  let parts = 0;
  for (let at = 0; at < text.length || parts === 0; at += PIECE)
    columns[`${name}${parts++}`] = text.slice(at, at + PIECE);
  columns[`${name}Parts`] = parts;
  return columns;
}

/** The value `textColumns` wrote. */
export function readTextColumns<T>(row: Row, name: string): T {
  const parts = Number(row[`${name}Parts`] ?? 0);
  let text = '';
  for (let i = 0; i < parts; i++) {
    const piece = row[`${name}${i}`];
    text += typeof piece === 'string' ? piece : '';
  }
  return JSON.parse(text) as T;
}
