/**
 * Byte mutations in the manner of libFuzzer's MutationDispatcher: each new input is a corpus
 * entry with one to five stacked mutations. Besides the generic ones (bit flips, interesting
 * values, inserts, erases, copies, crossover, dictionary words), `tweakDerLength` rewrites the
 * length of a TLV found at a random offset, because most DER inputs that coverage can learn
 * from are ones whose lengths still (almost) add up.
 */
import type { Random } from './random.js';

/** What a mutation may draw on besides the input itself. */
export interface MutationContext {
  readonly random: Random;
  readonly maxLength: number;
  /** Tokens worth splicing in (OIDs, field names, magic numbers): libFuzzer's `-dict`. */
  readonly dictionary: readonly Buffer[];
  /** Another corpus entry, for crossover. */
  readonly other: () => Buffer;
}

type Mutation = (input: Buffer, ctx: MutationContext) => Buffer;

const INTERESTING_BYTES = [
  0x00, 0x01, 0x02, 0x1f, 0x20, 0x30, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff,
];

function position(input: Buffer, ctx: MutationContext): number {
  return ctx.random.below(input.length);
}

const flipBit: Mutation = (input, ctx) => {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  const at = position(out, ctx);
  out[at] = out[at]! ^ (1 << ctx.random.below(8));
  return out;
};

const setInterestingByte: Mutation = (input, ctx) => {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  out[position(out, ctx)] = ctx.random.pick(INTERESTING_BYTES);
  return out;
};

const addToByte: Mutation = (input, ctx) => {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  const at = position(out, ctx);
  out[at] = (out[at]! + ctx.random.below(70) - 35) & 0xff;
  return out;
};

const randomByte: Mutation = (input, ctx) => {
  if (input.length === 0) return Buffer.from([ctx.random.below(256)]);
  const out = Buffer.from(input);
  out[position(out, ctx)] = ctx.random.below(256);
  return out;
};

const insertBytes: Mutation = (input, ctx) => {
  const at = ctx.random.below(input.length + 1);
  const count = 1 + ctx.random.below(ctx.random.oneIn(8) ? 128 : 8);
  const fill = ctx.random.oneIn(2) ? ctx.random.below(256) : -1;
  const inserted = Buffer.alloc(count);
  for (let i = 0; i < count; i++) inserted[i] = fill >= 0 ? fill : ctx.random.below(256);
  return Buffer.concat([input.subarray(0, at), inserted, input.subarray(at)]);
};

const eraseBytes: Mutation = (input, ctx) => {
  if (input.length < 2) return input;
  const at = position(input, ctx);
  const count = 1 + ctx.random.below(Math.min(64, input.length - at));
  return Buffer.concat([input.subarray(0, at), input.subarray(at + count)]);
};

/** Copies a range of the input over (or into) another place of it: repeated structures. */
const copyPart: Mutation = (input, ctx) => {
  if (input.length < 2) return input;
  const from = position(input, ctx);
  const count = 1 + ctx.random.below(Math.min(256, input.length - from));
  const part = input.subarray(from, from + count);
  const at = ctx.random.below(input.length + 1);
  if (ctx.random.oneIn(2)) return Buffer.concat([input.subarray(0, at), part, input.subarray(at)]);
  const out = Buffer.from(input);
  part.copy(out, Math.min(at, Math.max(0, out.length - part.length)));
  return out;
};

/** Splices a range of another corpus entry in. */
const crossOver: Mutation = (input, ctx) => {
  const other = ctx.other();
  if (other.length === 0) return input;
  const from = ctx.random.below(other.length);
  const part = other.subarray(from, from + 1 + ctx.random.below(Math.min(512, other.length - from)));
  const at = ctx.random.below(input.length + 1);
  const cut = ctx.random.oneIn(2) ? part.length : 0;
  return Buffer.concat([input.subarray(0, at), part, input.subarray(Math.min(input.length, at + cut))]);
};

const dictionaryWord: Mutation = (input, ctx) => {
  if (ctx.dictionary.length === 0) return input;
  const word = ctx.random.pick(ctx.dictionary);
  const at = ctx.random.below(input.length + 1);
  if (ctx.random.oneIn(2)) return Buffer.concat([input.subarray(0, at), word, input.subarray(at)]);
  const out = Buffer.from(input);
  word.copy(out, Math.min(at, Math.max(0, out.length - word.length)));
  return out;
};

/** A DER header at `at`: where its length field sits and how long it is, or null. */
function derHeader(
  input: Buffer,
  at: number,
): { lengthAt: number; lengthBytes: number; length: number } | null {
  let p = at + 1;
  if (((input[at] ?? 0) & 0x1f) === 0x1f) {
    while (p < input.length && (input[p]! & 0x80) !== 0) p++;
    p++;
  }
  const first = input[p];
  if (first === undefined) return null;
  if (first < 0x80) return { lengthAt: p, lengthBytes: 1, length: first };
  const n = first & 0x7f;
  if (n === 0 || n > 4 || p + n >= input.length) return null;
  let length = 0;
  for (let i = 1; i <= n; i++) length = length * 256 + input[p + i]!;
  return { lengthAt: p, lengthBytes: 1 + n, length };
}

const tweakDerLength: Mutation = (input, ctx) => {
  if (input.length < 2) return input;
  const header = derHeader(input, position(input, ctx));
  if (!header) return input;
  const choices = [
    header.length + 1,
    header.length - 1,
    header.length + 1 + ctx.random.below(300),
    Math.max(0, header.length - 1 - ctx.random.below(300)),
    0,
    0x7f,
    0x80,
    0xffff,
    0x7fffffff,
    input.length,
  ];
  const wanted = Math.max(0, ctx.random.pick(choices));
  const encoded = encodeLength(ctx.random.oneIn(4) ? -1 : wanted);
  return Buffer.concat([
    input.subarray(0, header.lengthAt),
    encoded,
    input.subarray(header.lengthAt + header.lengthBytes),
  ]);
};

/** A DER length field; -1 is the indefinite form. */
function encodeLength(length: number): Buffer {
  if (length < 0) return Buffer.from([0x80]);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const BYTE_MUTATIONS: readonly Mutation[] = [
  flipBit,
  setInterestingByte,
  addToByte,
  randomByte,
  insertBytes,
  eraseBytes,
  copyPart,
  crossOver,
  dictionaryWord,
  tweakDerLength,
  tweakDerLength,
];

/** One to five stacked byte mutations, cut to `maxLength`. */
export function mutateBytes(input: Buffer, ctx: MutationContext): Buffer {
  let out = input;
  const rounds = 1 + ctx.random.below(5);
  for (let i = 0; i < rounds; i++) out = ctx.random.pick(BYTE_MUTATIONS)(out, ctx);
  return out.length > ctx.maxLength ? out.subarray(0, ctx.maxLength) : out;
}
