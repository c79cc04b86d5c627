/**
 * Canary search: known secret values looked for in every spelling they could leak in — as is,
 * JSON-escaped, URL-encoded, base64 and base64url — and inside every base64 run of the text
 * (queue messages are base64 JSON, so a secret inside one is invisible to a plain search).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface CanaryHit {
  where: string;
  secret: string;
  form: string;
}

export interface Canary {
  /** A label for reports (never the value). */
  label: string;
  value: string;
}

function forms(value: string): [string, string][] {
  const b64 = Buffer.from(value, 'utf8');
  return [
    ['raw', value],
    ['json', JSON.stringify(value).slice(1, -1)],
    ['url', encodeURIComponent(value)],
    ['base64', b64.toString('base64').replace(/=+$/, '')],
    ['base64url', b64.toString('base64url')],
  ];
}

const BASE64_RUN = /[A-Za-z0-9+/_-]{24,}={0,2}/g;

/** Every hit of every canary in `text` (and in the base64 runs it contains). */
export function scanText(text: string, where: string, canaries: Canary[]): CanaryHit[] {
  const hits: CanaryHit[] = [];
  const search = (haystack: string, via: string) => {
    for (const canary of canaries) {
      for (const [form, needle] of forms(canary.value)) {
        if (needle.length >= 8 && haystack.includes(needle))
          hits.push({ where, secret: canary.label, form: via + form });
      }
    }
  };
  search(text, '');
  for (const run of text.match(BASE64_RUN) ?? []) {
    // The run may start mid-token (glued to other letters): try every alignment.
    for (let offset = 0; offset < 4; offset++) {
      const decoded = Buffer.from(run.slice(offset), 'base64').toString('utf8');
      if (decoded.length > 0) search(decoded, 'inside base64: ');
    }
  }
  return hits;
}

export interface FileScan {
  files: number;
  bytes: number;
  hits: CanaryHit[];
}

/** Scans every file under `dir`; `skip(path, canary)` exempts a file from one canary (a vault, say). */
export function scanFiles(
  dir: string,
  canaries: Canary[],
  skip: (path: string, canary: Canary) => boolean,
): FileScan {
  const result: FileScan = { files: 0, bytes: 0, hits: [] };
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      if (!entry.isFile() || statSync(path).size > 64 * 1024 * 1024) continue;
      const buffer = readFileSync(path);
      result.files += 1;
      result.bytes += buffer.length;
      const applicable = canaries.filter((c) => !skip(path, c));
      const name = relative(dir, path);
      result.hits.push(...scanText(buffer.toString('utf8'), name, applicable));
    }
  };
  walk(dir);
  return result;
}
