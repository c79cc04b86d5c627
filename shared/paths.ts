/**
 * Central Certificate Store share paths: validation, normalisation and the allow-list check.
 *
 * The API runs these rules before anything is stored and every agent runs them again after
 * expanding %VARIABLE%s, so a path means one thing everywhere. They are stricter than Windows on
 * purpose: whatever Windows would silently rewrite (trailing dots and spaces, 8.3 short names,
 * device names, alternate data streams, namespace prefixes, look-alike characters) is a second
 * spelling of some other path, and a second spelling is exactly what an allow-list cannot see.
 *
 * The check is lexical, as Windows' own path resolution and IIS Administration's `files.locations`
 * are: junctions and symbolic links inside an allowed location are the administrator's business.
 */
import { z } from 'zod';
import { DomainError, forbiddenPath, invalid } from './errors.js';

export type PathClaim = 'read' | 'write';

/** One IIS Administration `files.locations` entry: a place CCS may point at, and its claims. */
export const AllowedLocationSchema = z.object({
  path: z.string().min(1),
  claims: z.array(z.enum(['read', 'write'])).default(['read']),
});
export type AllowedLocation = z.infer<typeof AllowedLocationSchema>;

/** MAX_PATH (260) minus the terminating NUL: the limit of the CCS provider and older Win32 APIs. */
export const MAX_CCS_PATH_LENGTH = 259;

/** NTFS and SMB limit one name to 255 UTF-16 units. */
const MAX_SEGMENT_LENGTH = 255;

/** Windows' absolute path limit; longer input is refused before any parsing work is spent on it. */
const MAX_RAW_LENGTH = 32_767;

/** How much of a name an error detail may quote, so details stay short whatever the input. */
const MAX_QUOTED_LENGTH = 80;

type PathRoot =
  | { kind: 'drive'; letter: string }
  | { kind: 'unc'; server: string; share: string }
  | { kind: 'env'; name: string };

interface ParsedPath {
  root: PathRoot;
  /** Directory names below the root: no `.`, `..` or empty entries left. */
  segments: string[];
}

// ---------------------------------------------------------------------------------------------
// Characters
// ---------------------------------------------------------------------------------------------

/**
 * Characters that imitate a separator, a dot, the drive colon, `%` or another character Windows
 * forbids. Windows does not treat them as those characters, but they fool the people who review
 * allow-lists and audit logs, and any layer that converts to an ANSI code page with "best fit"
 * mapping turns several of them into the real thing (the "WorstFit" class of bugs). Anything whose
 * NFKC form contains one of those characters is refused as well (see `lookalikeOf`); this table
 * adds the imitations NFKC leaves alone and documents the notable ones.
 */
const LOOKALIKES: ReadonlyMap<string, string> = new Map([
  ['\u1735', '/'], // PHILIPPINE SINGLE PUNCTUATION
  ['\u2044', '/'], // FRACTION SLASH
  ['\u2215', '/'], // DIVISION SLASH
  ['\u2571', '/'], // BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT
  ['\u27CB', '/'], // MATHEMATICAL RISING DIAGONAL
  ['\u29F8', '/'], // BIG SOLIDUS
  ['\uFF0F', '/'], // FULLWIDTH SOLIDUS
  ['\u2216', '\\'], // SET MINUS
  ['\u2572', '\\'], // BOX DRAWINGS LIGHT DIAGONAL UPPER LEFT TO LOWER RIGHT
  ['\u27CD', '\\'], // MATHEMATICAL FALLING DIAGONAL
  ['\u29F5', '\\'], // REVERSE SOLIDUS OPERATOR
  ['\u29F9', '\\'], // BIG REVERSE SOLIDUS
  ['\uFE68', '\\'], // SMALL REVERSE SOLIDUS
  ['\uFF3C', '\\'], // FULLWIDTH REVERSE SOLIDUS
  ['\u00A5', '\\'], // YEN SIGN: the backslash of code page 932, best-fit maps it to '\'
  ['\u20A9', '\\'], // WON SIGN: the backslash of code page 949
  ['\u2024', '.'], // ONE DOT LEADER
  ['\u2025', '..'], // TWO DOT LEADER
  ['\u2026', '...'], // HORIZONTAL ELLIPSIS
  ['\u3002', '.'], // IDEOGRAPHIC FULL STOP
  ['\uFE52', '.'], // SMALL FULL STOP
  ['\uFF0E', '.'], // FULLWIDTH FULL STOP
  ['\uFF61', '.'], // HALFWIDTH IDEOGRAPHIC FULL STOP
  ['\u2236', ':'], // RATIO
  ['\uA789', ':'], // MODIFIER LETTER COLON
  ['\uFE13', ':'], // PRESENTATION FORM FOR VERTICAL COLON
  ['\uFE55', ':'], // SMALL COLON
  ['\uFF1A', ':'], // FULLWIDTH COLON
  ['\u066A', '%'], // ARABIC PERCENT SIGN
  ['\uFE6A', '%'], // SMALL PERCENT SIGN
  ['\uFF05', '%'], // FULLWIDTH PERCENT SIGN
  ['\uFF02', '"'], // FULLWIDTH QUOTATION MARK
  ['\uFF0A', '*'], // FULLWIDTH ASTERISK
  ['\uFF1C', '<'], // FULLWIDTH LESS-THAN SIGN
  ['\uFF1E', '>'], // FULLWIDTH GREATER-THAN SIGN
  ['\uFF1F', '?'], // FULLWIDTH QUESTION MARK
  ['\uFF5C', '|'], // FULLWIDTH VERTICAL LINE
]);

/** The ASCII characters that carry meaning in a path or that Windows forbids in names. */
const MEANINGFUL_ASCII = /[\\/.:%<>"|?*]/;

/** What a non-ASCII character imitates, if anything. */
function lookalikeOf(char: string): string | undefined {
  const listed = LOOKALIKES.get(char);
  if (listed !== undefined) return listed;
  if (char.charCodeAt(0) < 0x80) return undefined;
  const compatible = char.normalize('NFKC');
  return MEANINGFUL_ASCII.test(compatible) ? compatible : undefined;
}

/**
 * Why one character (a code point) is not acceptable anywhere in a path, or undefined. Controls
 * (C0, DEL, C1) truncate or split the path in native code and logs; format characters (bidi
 * controls, zero-width characters, U+FEFF, soft hyphen, tag characters) make two different paths
 * look identical; exotic spaces and line separators likewise; unpaired surrogates cannot be
 * stored as UTF-8; private-use characters are how some SMB clients smuggle `:` and friends.
 */
function characterProblem(char: string): string | undefined {
  if (/\p{Cc}/u.test(char)) return 'a control character';
  if (/\p{Cf}/u.test(char)) return 'an invisible or bidirectional formatting character';
  if (/[\p{Zl}\p{Zp}]/u.test(char)) return 'a line or paragraph separator';
  if (/\p{Zs}/u.test(char) && char !== ' ') return 'a space other than U+0020';
  if (/\p{Cs}/u.test(char)) return 'an unpaired surrogate';
  if (/\p{Co}/u.test(char)) return 'a private-use character';
  const imitated = lookalikeOf(char);
  return imitated === undefined ? undefined : `a look-alike of '${imitated}'`;
}

function codePointLabel(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function checkCharacters(input: string, field: string): void {
  let position = 0;
  for (const char of input) {
    position += 1;
    const problem = characterProblem(char);
    if (problem !== undefined) {
      throw invalid(field, `The path contains ${codePointLabel(char)} (${problem}) at character ${position}`);
    }
  }
}

function shorten(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/** Quotes a (validated, hence printable) name for an error detail, truncated so details stay short. */
function quote(text: string): string {
  return `"${shorten(text, MAX_QUOTED_LENGTH)}"`;
}

/** `%NAME%` for an error detail; names are unbounded, details are not. */
function variableLabel(name: string): string {
  return shorten(`%${name}%`, 40);
}

// ---------------------------------------------------------------------------------------------
// Roots
// ---------------------------------------------------------------------------------------------

const ABSOLUTE_HINT =
  'The path must be absolute: a drive path (C:\\certs), a UNC share (\\\\server\\share) or %VARIABLE%\\certs';

/** `\\?\`, `\\.\` and `\??\` bypass Win32 normalisation and reach devices and other volumes. */
const DEVICE_PREFIX = /^(?:\\\\[.?]|\\\?\?)/;

/** `<>"|?*` are forbidden in Windows names (`:` is handled with the drive, `\` is the separator). */
const FORBIDDEN_ASCII = /[<>"|?*]/;

/** A leading `%NAME%` as cmd and ExpandEnvironmentStrings read it; `%ProgramFiles(x86)%` included. */
const ENV_SEGMENT = /^%([A-Za-z_][A-Za-z0-9_()]*)%$/;

/** A DNS or NetBIOS host name or an IPv4 address: labels of letters, digits, `-` and `_`. */
const SERVER_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$/;

interface SplitPath {
  root: PathRoot;
  rawSegments: string[];
}

/** Splits on `\`, dropping the empty entries that repeated separators leave. */
function splitSegments(text: string): string[] {
  return text.split('\\').filter((segment) => segment !== '');
}

function splitUnc(afterSlashes: string, field: string): SplitPath {
  const separator = afterSlashes.indexOf('\\');
  const server = separator === -1 ? afterSlashes : afterSlashes.slice(0, separator);
  if (server === '') throw invalid(field, 'A UNC path needs a server name: \\\\server\\share');
  if (server.length > 253 || !SERVER_NAME.test(server)) {
    throw invalid(field, `The UNC server name ${quote(server)} is not a valid host name`);
  }
  const [share, ...rawSegments] = splitSegments(separator === -1 ? '' : afterSlashes.slice(separator + 1));
  if (share === undefined) throw invalid(field, 'A UNC path needs a share name: \\\\server\\share');
  if (share === '.' || share === '..') throw invalid(field, "A UNC share name cannot be '.' or '..'");
  checkName(share, field);
  return { root: { kind: 'unc', server, share }, rawSegments };
}

function splitDrive(letter: string, afterColon: string, field: string): SplitPath {
  if (!afterColon.startsWith('\\')) {
    throw invalid(
      field,
      `The path must be absolute: "${letter}:" without a separator is relative to that drive`,
    );
  }
  return { root: { kind: 'drive', letter: letter.toUpperCase() }, rawSegments: splitSegments(afterColon) };
}

function splitEnv(text: string, field: string): SplitPath {
  const [first = '', ...rawSegments] = text.split('\\');
  const match = ENV_SEGMENT.exec(first);
  if (!match?.[1]) {
    throw invalid(
      field,
      'An environment variable must be the whole first segment, as in %SystemDrive%\\certs (name: letters, digits, _ and ())',
    );
  }
  return { root: { kind: 'env', name: match[1] }, rawSegments: rawSegments.filter((s) => s !== '') };
}

/** Works out the root; every kind of relative path is refused here. */
function splitRoot(text: string, field: string): SplitPath {
  if (text.startsWith('\\\\')) return splitUnc(text.slice(2), field);
  if (text.startsWith('\\')) {
    throw invalid(
      field,
      `${ABSOLUTE_HINT}; a path starting with one separator is relative to the current drive`,
    );
  }
  const drive = /^([A-Za-z]):(.*)$/s.exec(text);
  if (drive?.[1] !== undefined) return splitDrive(drive[1], drive[2] ?? '', field);
  if (text.startsWith('%')) return splitEnv(text, field);
  throw invalid(field, ABSOLUTE_HINT);
}

function rootLabel(root: PathRoot): string {
  switch (root.kind) {
    case 'drive':
      return `${root.letter}:\\`;
    case 'unc':
      return quote(`\\\\${root.server}\\${root.share}`);
    case 'env':
      return variableLabel(root.name);
  }
}

// ---------------------------------------------------------------------------------------------
// Names (one segment)
// ---------------------------------------------------------------------------------------------

/** Device names Windows resolves in any directory, with any extension (COM¹-³ and LPT¹-³ too). */
const DEVICE_NAME =
  /^(?:CON|PRN|AUX|NUL|COM[0-9\u00B9\u00B2\u00B3]|LPT[0-9\u00B9\u00B2\u00B3]|CONIN\$|CONOUT\$)$/i;

/** An 8.3 short name (`PROGRA~1`, `CERTIF~2.PFX`): an alias of a long name the allow-list cannot see. */
const SHORT_NAME = /^[^~\\]{1,6}~\d+(?:\.[^.]{0,3})?$/;

/** Windows ignores what follows the first dot and the spaces before it when it spots a device. */
function isDeviceName(name: string): boolean {
  const base = (name.split('.')[0] ?? '').replace(/ +$/, '');
  return DEVICE_NAME.test(base);
}

/** Validates one directory or share name (never `.` or `..`, which the caller resolves first). */
function checkName(name: string, field: string): void {
  if (name.length > MAX_SEGMENT_LENGTH) {
    throw invalid(
      field,
      `A path segment is ${name.length} characters long; the limit is ${MAX_SEGMENT_LENGTH}`,
    );
  }
  if (name.includes(':')) {
    throw invalid(
      field,
      `The segment ${quote(name)} contains ':', allowed only after a drive letter (no data streams)`,
    );
  }
  if (name.includes('%')) {
    throw invalid(field, `The segment ${quote(name)} contains '%', allowed only around a leading %VARIABLE%`);
  }
  if (name.endsWith('.') || name.endsWith(' ')) {
    throw invalid(
      field,
      `The segment ${quote(name)} ends with a dot or a space, which Windows strips (an alias)`,
    );
  }
  if (SHORT_NAME.test(name)) {
    throw invalid(field, `The segment ${quote(name)} looks like an 8.3 short name; use the long name`);
  }
  if (isDeviceName(name)) {
    throw invalid(field, `The segment ${quote(name)} is a reserved device name`);
  }
}

/** Resolves `.` and `..` lexically, as Windows does, refusing to climb above the root. */
function resolveSegments(root: PathRoot, rawSegments: string[], field: string): string[] {
  const resolved: string[] = [];
  for (const segment of rawSegments) {
    if (segment === '.') continue;
    if (segment === '..') {
      if (resolved.pop() === undefined)
        throw invalid(field, `The path uses '..' to climb above ${rootLabel(root)}`);
      continue;
    }
    checkName(segment, field);
    resolved.push(segment);
  }
  return resolved;
}

// ---------------------------------------------------------------------------------------------
// Parsing and formatting
// ---------------------------------------------------------------------------------------------

function parseCcsPath(input: unknown, field: string): ParsedPath {
  if (typeof input !== 'string') throw invalid(field, 'The path must be a string');
  if (input.trim() === '') throw invalid(field, 'The path must not be empty');
  if (input.length > MAX_RAW_LENGTH)
    throw invalid(field, `The path is longer than ${MAX_RAW_LENGTH} characters`);
  checkCharacters(input, field);
  if (/^\s/.test(input)) throw invalid(field, 'The path must not start with whitespace');
  const text = input.replaceAll('/', '\\');
  if (DEVICE_PREFIX.test(text)) {
    throw invalid(field, 'Device and namespace paths (\\\\?\\, \\\\.\\, \\??\\) are not allowed');
  }
  const forbidden = FORBIDDEN_ASCII.exec(text);
  if (forbidden) throw invalid(field, `The path contains '${forbidden[0]}', which Windows forbids in names`);
  const { root, rawSegments } = splitRoot(text, field);
  return { root, segments: resolveSegments(root, rawSegments, field) };
}

function formatRoot(root: PathRoot): string {
  switch (root.kind) {
    case 'drive':
      return `${root.letter}:`;
    case 'unc':
      return `\\\\${root.server}\\${root.share}`;
    case 'env':
      return `%${root.name}%`;
  }
}

function formatPath(path: ParsedPath): string {
  const tail = path.segments.map((segment) => `\\${segment}`).join('');
  // A drive root keeps its separator: "C:" alone would mean the drive's current directory.
  return path.root.kind === 'drive' && tail === '' ? `${path.root.letter}:\\` : formatRoot(path.root) + tail;
}

function checkLength(normalized: string, field: string): string {
  if (normalized.length > MAX_CCS_PATH_LENGTH) {
    throw invalid(
      field,
      `The path is ${normalized.length} characters long after normalisation; the limit is ${MAX_CCS_PATH_LENGTH}`,
    );
  }
  return normalized;
}

/**
 * Validates a CCS share path and returns its normal form: `\` separators, single separators
 * (but the UNC `\\`), `.` and `..` resolved, no trailing separator (but `C:\`), an uppercase drive
 * letter; otherwise the spelling is kept. Throws `invalid(field, …)` for anything unacceptable.
 */
export function normalizeCcsPath(input: unknown, field = 'path'): string {
  return checkLength(formatPath(parseCcsPath(input, field)), field);
}

// ---------------------------------------------------------------------------------------------
// Allow-list
// ---------------------------------------------------------------------------------------------

/**
 * Case pairs we fold: Latin, Greek, Cyrillic, Armenian, Latin Extended Additional and fullwidth
 * Latin, whose pairs are in every NTFS $UpCase table. Newer pairs (Georgian Mtavruli, Cherokee
 * lowercase, anything outside the BMP) are compared exactly, because a volume's table is frozen
 * when it is formatted and may not know them.
 */
const FOLDABLE =
  /^[A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF\u0531-\u0587\u1E00-\u1EFF\uFF21-\uFF3A\uFF41-\uFF5A]$/;

/**
 * Windows compares names ordinal-ignore-case: one UTF-16 unit against one, through an uppercase
 * table. So a character folds only to a single uppercase character that lowercases back to it:
 * `ß` stays `ß` (its uppercase is "SS", so "Straße" and "STRASSE" are different folders on NTFS,
 * and `ẞ` is not treated as its capital either), and `ı`, `ſ`, `µ`, `ς` do not fold into `I`,
 * `S`, `Μ`, `Σ`. Every doubt is resolved towards "different", which can cost a 403 but can never
 * let a path match a location it is not inside.
 */
function foldChar(char: string): string {
  const upper = char.toUpperCase();
  if (upper === char || !FOLDABLE.test(char) || !FOLDABLE.test(upper)) return char;
  return upper.toLowerCase() === char ? upper : char;
}

function foldCase(text: string): string {
  return Array.from(text, foldChar).join('');
}

/** The components compared one by one; the root's kind is encoded so kinds never match each other. */
function comparisonKey(path: ParsedPath): string[] {
  const root = path.root;
  const head =
    root.kind === 'unc'
      ? ['\\\\', root.server, root.share]
      : [root.kind === 'drive' ? `${root.letter}:` : `%${root.name}%`];
  return [...head, ...path.segments].map(foldCase);
}

function tryParse(path: unknown): ParsedPath | undefined {
  try {
    const parsed = parseCcsPath(path, 'path');
    checkLength(formatPath(parsed), 'path');
    return parsed;
  } catch (error) {
    if (error instanceof DomainError) return undefined;
    throw error;
  }
}

function isPrefix(prefix: string[], whole: string[]): boolean {
  return prefix.length <= whole.length && prefix.every((component, index) => component === whole[index]);
}

/**
 * True when `path` is the same as, or below, a location carrying `claim`, segment by segment and
 * case-insensitively after normalising both sides. An invalid path is never inside; an invalid
 * configured location is skipped. `%VAR%` paths match only locations under the same variable: the
 * API cannot know what a variable expands to on each host (agents expand both sides first).
 */
export function isInsideAllowedLocations(
  path: string,
  locations: readonly AllowedLocation[],
  claim: PathClaim = 'read',
): boolean {
  const target = tryParse(path);
  if (target === undefined) return false;
  const key = comparisonKey(target);
  return locations.some((location) => {
    if (!location.claims.includes(claim)) return false;
    const allowed = tryParse(location.path);
    return allowed !== undefined && isPrefix(comparisonKey(allowed), key);
  });
}

/**
 * Validates `path` (400 naming `path`) and checks it against the allow-list (403 naming `path`).
 * Returns the normalised path, the only form that should be stored or sent to hosts.
 */
export function assertAllowed(
  path: unknown,
  locations: readonly AllowedLocation[],
  claim: PathClaim = 'read',
): string {
  const normalized = normalizeCcsPath(path);
  if (!isInsideAllowedLocations(normalized, locations, claim)) throw forbiddenPath('path');
  return normalized;
}

// ---------------------------------------------------------------------------------------------
// Environment variables (agent side)
// ---------------------------------------------------------------------------------------------

/**
 * Windows looks variable names up case-insensitively and cannot hold an empty value. A plain
 * record may hold several spellings of one name (not on Windows, but in tests and on other
 * platforms); if they disagree we refuse rather than pick one.
 */
function lookupVariable(env: Record<string, string | undefined>, name: string): string {
  const wanted = foldCase(name);
  const values = new Set(
    Object.entries(env)
      .filter(([key, value]) => value !== undefined && value !== '' && foldCase(key) === wanted)
      .map(([, value]) => value as string),
  );
  const [value, ...others] = values;
  if (value === undefined)
    throw invalid('path', `The environment variable ${variableLabel(name)} is not defined on this host`);
  if (others.length > 0)
    throw invalid('path', `The environment variable ${variableLabel(name)} has conflicting values`);
  return value;
}

/**
 * For the agent: expands a leading `%VAR%` (case-insensitively, as Windows does) and normalises the
 * result again, so a value that is relative, uses a device prefix, contains `..` or another
 * `%VAR%` is refused. A path without a variable is just normalised. Throws `invalid('path', …)`.
 */
export function expandEnvironmentVariables(path: string, env: Record<string, string | undefined>): string {
  const parsed = parseCcsPath(path, 'path');
  if (parsed.root.kind !== 'env') return checkLength(formatPath(parsed), 'path');
  const name = parsed.root.name;
  const value = lookupVariable(env, name);
  if (value.split(/[\\/]/).includes('..')) {
    throw invalid(
      'path',
      `The environment variable ${variableLabel(name)} expands to a value containing '..'`,
    );
  }
  // The variable names a directory: `%SystemDrive%` alone means `C:\`, never the drive-relative `C:`.
  const expanded = `${value}\\${parsed.segments.join('\\')}`;
  let result: ParsedPath;
  try {
    result = parseCcsPath(expanded, 'path');
  } catch (error) {
    if (error instanceof DomainError)
      throw invalid('path', `After expanding ${shorten(`%${name}%`, 24)}: ${error.message}`);
    throw error;
  }
  if (result.root.kind === 'env') {
    throw invalid(
      'path',
      `The environment variable ${variableLabel(name)} must expand to a drive or UNC path`,
    );
  }
  return checkLength(formatPath(result), 'path');
}

/**
 * For the agent: the allow-list with every `%VAR%` expanded against this host's environment.
 * Locations that cannot be expanded or are invalid are dropped (they allow nothing), exactly as
 * `isInsideAllowedLocations` skips invalid locations.
 */
export function expandAllowedLocations(
  locations: readonly AllowedLocation[],
  env: Record<string, string | undefined>,
): AllowedLocation[] {
  return locations.flatMap((location) => {
    try {
      return [{ ...location, path: expandEnvironmentVariables(location.path, env) }];
    } catch (error) {
      if (error instanceof DomainError) return [];
      throw error;
    }
  });
}
