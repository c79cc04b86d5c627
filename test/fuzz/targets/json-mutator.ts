/**
 * A structure-aware mutation for queue messages: decode the message (base64 or plain JSON, as
 * the queue delivers it), change one value of the JSON tree — another type, an edge-case number,
 * a long or odd string, a missing or unknown member — and encode it back the same way. Byte
 * mutations alone rarely get past JSON.parse; these reach the schemas behind it.
 */
import { decodeMessageText } from '../../../shared/messages.js';
import type { MutationContext } from '../engine/mutator.js';
import type { Random } from '../engine/random.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const NUMBERS = [0, -1, 1, 0.5, -0, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e-308, 64, 65535];
const STRINGS = [
  '',
  ' ',
  'a'.repeat(300),
  'x'.repeat(70_000),
  '\u0000',
  '\ud800',
  '\u202e',
  'web-01',
  'WEB-01.contoso.com',
  'demo',
  '2026-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  'not a date',
  'preflight',
  'apply',
  'scan',
  'hello',
  'result',
  'drift',
  'inventory',
  'succeeded',
  'failed',
  'superseded',
  'HMAC-SHA256',
  '__proto__',
];

function interesting(random: Random, fieldNames: readonly string[]): Json {
  switch (random.below(7)) {
    case 0:
      return random.pick(NUMBERS);
    case 1:
      return random.pick(STRINGS);
    case 2:
      return random.oneIn(2);
    case 3:
      return null;
    case 4:
      return [];
    case 5:
      return random.oneIn(2) ? {} : { [random.pick(fieldNames)]: random.pick(STRINGS) };
    default:
      return random.pick(fieldNames);
  }
}

/** Every container of the tree with its member names (or indexes). */
function containers(value: Json, out: (Json[] | { [key: string]: Json })[] = [], depth = 0): typeof out {
  if (value === null || typeof value !== 'object' || depth > 64) return out;
  out.push(value);
  for (const child of Array.isArray(value) ? value : Object.values(value)) containers(child, out, depth + 1);
  return out;
}

function mutateTree(root: Json, random: Random, fieldNames: readonly string[]): Json {
  const all = containers(root);
  if (all.length === 0) return interesting(random, fieldNames);
  const target = random.pick(all);
  if (Array.isArray(target)) {
    const i = random.below(target.length + 1);
    if (random.oneIn(3) && target.length > 0) target.splice(i, 1);
    else target.splice(i, random.oneIn(2) ? 1 : 0, interesting(random, fieldNames));
    return root;
  }
  const keys = Object.keys(target);
  const key = keys.length > 0 && !random.oneIn(4) ? random.pick(keys) : random.pick(fieldNames);
  const op = random.below(4);
  if (op === 0) delete target[key];
  else if (op === 1 && typeof target[key] === 'number') target[key] += random.below(5) - 2;
  else if (op === 2) target[key] = [target[key] ?? null];
  else target[key] = interesting(random, fieldNames);
  return root;
}

/** The mutation; `fallback` (byte mutations) when the input is not a JSON message. */
export function mutateMessage(
  input: Buffer,
  ctx: MutationContext,
  fieldNames: readonly string[],
  fallback: (input: Buffer, ctx: MutationContext) => Buffer,
): Buffer {
  const text = input.toString('utf8');
  let tree: Json;
  try {
    tree = decodeMessageText(text) as Json;
  } catch {
    return fallback(input, ctx);
  }
  const rounds = 1 + ctx.random.below(3);
  for (let i = 0; i < rounds; i++) tree = mutateTree(tree, ctx.random, fieldNames);
  const json = JSON.stringify(tree);
  const out = Buffer.from(text.trim().startsWith('{') ? json : Buffer.from(json, 'utf8').toString('base64'));
  return out.length > ctx.maxLength ? out.subarray(0, ctx.maxLength) : out;
}
