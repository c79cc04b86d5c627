/**
 * Which share file IIS serves a host name from: the Central Certificate Store lookup rule, shared
 * by the agent (preflight, serving check, simulated IIS) and the API (coverage).
 *
 * Microsoft's CCS documentation ("IIS 8.0 Centralized SSL Certificate Support", and the web-farm
 * planning guide "Plan SSL Central Certificate Store") gives the rule: the file is named after the
 * host name the client asks for (SNI) — `www.contoso.com` → `www.contoso.com.pfx` — and a wildcard
 * certificate `*.contoso.com` is stored as `_.contoso.com.pfx`; the provider first tries the exact
 * file and only when there is none the wildcard file of the parent domain. A wildcard covers one
 * label, as in TLS (RFC 6125 §6.4.3): `a.b.contoso.com` looks for `_.b.contoso.com.pfx`, never
 * `_.contoso.com.pfx`. The share is a Windows folder, so file names compare case-insensitively.
 *
 * Host names are compared in their ASCII form: a client sends an internationalised name as
 * punycode (`xn--…`) in SNI, so `bücher.example` is looked up as `xn--bcher-kva.example.pfx`.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** One DNS label of a lookup name: letters, digits and inner hyphens, 1–63 characters. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The name IIS looks `hostName` up by: ASCII (punycode), lower case, without a trailing dot.
 * A wildcard host header (`*.contoso.com`, IIS 10) keeps its `*.`. Null when it is not a DNS name
 * a client could send in SNI (empty, an IP address, bad characters), so no file can serve it.
 */
export function ccsLookupName(hostName: string): string | null {
  let name = hostName.trim();
  if (name === '' || /[\s%/\\@:[\]]/.test(name) || isIP(name) !== 0) return null;
  const wildcard = name.startsWith('*.');
  if (wildcard) name = name.slice(2);
  const ascii = domainToASCII(name).toLowerCase().replace(/\.$/, '');
  if (ascii === '' || ascii.length > 253 || isIP(ascii) !== 0) return null;
  if (!ascii.split('.').every((label) => LABEL.test(label))) return null;
  return wildcard ? `*.${ascii}` : ascii;
}

/** The file names IIS tries for a host name, in order: `<host>.pfx`, then `_.<parent>.pfx`. */
export function ccsFileCandidates(hostName: string): string[] {
  const name = ccsLookupName(hostName);
  if (name === null) return [];
  if (name.startsWith('*.')) return [`_${name.slice(1)}.pfx`];
  const dot = name.indexOf('.');
  return dot === -1 ? [`${name}.pfx`] : [`${name}.pfx`, `_${name.slice(dot)}.pfx`];
}

/** A share listing indexed for lookups: lower-case file name → the name as listed. */
export type CcsFileIndex = ReadonlyMap<string, string>;

export function indexCcsFiles(fileNames: Iterable<string>): CcsFileIndex {
  const index = new Map<string, string>();
  for (const name of fileNames) {
    const key = name.toLowerCase();
    // Two names differing only in case cannot both exist on Windows; keep the first listed.
    if (!index.has(key)) index.set(key, name);
  }
  return index;
}

/** The file (as listed) IIS would serve `hostName` from, or null when the share has none. */
export function ccsFileFor(hostName: string, files: CcsFileIndex): string | null {
  for (const candidate of ccsFileCandidates(hostName)) {
    const found = files.get(candidate);
    if (found !== undefined) return found;
  }
  return null;
}
