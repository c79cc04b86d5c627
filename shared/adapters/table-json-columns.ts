/**
 * A JSON value too large for one Table storage property: a string property holds at most 64 KiB
 * (32 K UTF-16 characters), an entity 1 MiB. The value is split over numbered properties
 * (`<name>0`, `<name>1`, … and `<name>Parts`) of ONE entity, so it is still written — and
 * conditionally replaced with its ETag — in one request.
 */
import type { Row } from './table-support.js';

/** Characters per property: under the 32 K limit with room to spare. */
const PART_CHARS = 30_000;

export function jsonColumns(name: string, value: unknown): Row {
  const text = JSON.stringify(value);
  const row: Row = {};
  let parts = 0;
  for (let at = 0; at < text.length || parts === 0; at += PART_CHARS) {
    row[`${name}${parts}`] = text.slice(at, at + PART_CHARS);
    parts++;
  }
  row[`${name}Parts`] = parts;
  return row;
}

export function readJsonColumns<T>(row: Row, name: string): T {
  const parts = Number(row[`${name}Parts`] ?? 0);
  let text = '';
  for (let i = 0; i < parts; i++) {
    const part = row[`${name}${i}`];
    text += typeof part === 'string' ? part : '';
  }
  return JSON.parse(text) as T;
}
