/**
 * A minimal, defensive DER/BER reader for PKCS#12 structures.
 *
 * - Every read is bounds-checked against the buffer it was given; nothing ever reads outside it.
 * - Every loop advances by at least one header (two bytes), and nesting is capped at
 *   {@link MAX_DEPTH}, so malformed or hostile input can neither hang nor blow the stack.
 * - Any malformed input throws a {@link Pkcs12Error} with code `'malformed'`.
 *
 * BER leniencies that real PKCS#12 producers need are accepted: indefinite lengths (constructed
 * encodings only, terminated by end-of-contents), constructed OCTET STRINGs (Windows, NSS and
 * Java emit them), non-minimal long-form lengths. Values are returned as `subarray` views of the
 * input (no copies) except when constructed OCTET STRING segments have to be concatenated.
 */

export type Pkcs12ErrorCode = 'malformed' | 'wrong-password' | 'unsupported';

/** The single error type of the PKCS#12 reader. Messages never carry passwords or key material. */
export class Pkcs12Error extends Error {
  constructor(
    readonly code: Pkcs12ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'Pkcs12Error';
  }
}

export const malformed = (detail: string, cause?: unknown): Pkcs12Error =>
  new Pkcs12Error(
    'malformed',
    `Malformed PKCS#12 data: ${detail}`,
    cause === undefined ? undefined : { cause },
  );

/** Maximum nesting of TLVs (PKCS#12 needs about 12, including a nested certificate). */
export const MAX_DEPTH = 40;

export const TagClass = { Universal: 0, Application: 1, Context: 2, Private: 3 } as const;
export type TagClass = (typeof TagClass)[keyof typeof TagClass];

/** Universal tag numbers used by PKCS#12. */
export const Tag = {
  Boolean: 1,
  Integer: 2,
  BitString: 3,
  OctetString: 4,
  Null: 5,
  Oid: 6,
  Utf8String: 12,
  Sequence: 16,
  Set: 17,
  PrintableString: 19,
  Ia5String: 22,
  UtcTime: 23,
  GeneralizedTime: 24,
  BmpString: 30,
} as const;

export interface DerNode {
  readonly cls: TagClass;
  readonly constructed: boolean;
  readonly tag: number;
  /** Content octets; for an indefinite length, everything before the end-of-contents marker. */
  readonly value: Buffer;
  /** The whole encoding: header, content and any end-of-contents marker. */
  readonly raw: Buffer;
  readonly indefinite: boolean;
  /** Nesting depth of this node (0 for a top-level node). */
  readonly depth: number;
}

function byteAt(buf: Buffer, offset: number): number {
  const b = buf[offset];
  if (b === undefined) throw malformed('unexpected end of data');
  return b;
}

/**
 * Reads one TLV starting at `offset`. The node may be followed by more data in `buf`;
 * use {@link parseSingle} when the node must fill the buffer exactly.
 */
export function readNode(buf: Buffer, offset = 0, depth = 0): DerNode {
  if (depth > MAX_DEPTH) throw malformed('nesting too deep');
  let p = offset;
  const b0 = byteAt(buf, p++);
  const cls = (b0 >> 6) as TagClass;
  const constructed = (b0 & 0x20) !== 0;
  let tag = b0 & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let i = 0; ; i++) {
      if (i >= 4) throw malformed('tag number too large');
      const b = byteAt(buf, p++);
      tag = tag * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (cls === TagClass.Universal && tag === 0) throw malformed('unexpected end-of-contents marker');

  const lb = byteAt(buf, p++);
  if (lb === 0x80) {
    if (!constructed) throw malformed('indefinite length on a primitive encoding');
    // Walk the children to find the end-of-contents marker.
    let q = p;
    for (;;) {
      if (byteAt(buf, q) === 0) {
        if (byteAt(buf, q + 1) !== 0) throw malformed('bad end-of-contents marker');
        return {
          cls,
          constructed,
          tag,
          value: buf.subarray(p, q),
          raw: buf.subarray(offset, q + 2),
          indefinite: true,
          depth,
        };
      }
      q += readNode(buf, q, depth + 1).raw.length;
    }
  }
  let len: number;
  if (lb < 0x80) {
    len = lb;
  } else {
    const n = lb & 0x7f;
    if (n > 4) throw malformed('length field too long');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + byteAt(buf, p++);
  }
  const end = p + len;
  if (end > buf.length) throw malformed('length exceeds the available data');
  return {
    cls,
    constructed,
    tag,
    value: buf.subarray(p, end),
    raw: buf.subarray(offset, end),
    indefinite: false,
    depth,
  };
}

/** Parses a buffer that must hold exactly one TLV (no trailing bytes). */
export function parseSingle(buf: Buffer, what: string, depth = 0): DerNode {
  const node = readNode(buf, 0, depth);
  if (node.raw.length !== buf.length) throw malformed(`trailing data after ${what}`);
  return node;
}

/** The children of a constructed node, in order. */
export function children(node: DerNode): DerNode[] {
  if (!node.constructed) throw malformed('expected a constructed encoding');
  const out: DerNode[] = [];
  let off = 0;
  while (off < node.value.length) {
    const child = readNode(node.value, off, node.depth + 1);
    out.push(child);
    off += child.raw.length;
  }
  return out;
}

export function isUniversal(node: DerNode, tag: number): boolean {
  return node.cls === TagClass.Universal && node.tag === tag;
}

export function isContext(node: DerNode, tag: number): boolean {
  return node.cls === TagClass.Context && node.tag === tag;
}

export function expectUniversal(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) throw malformed(`missing ${what}`);
  if (!isUniversal(node, tag)) throw malformed(`expected ${what}`);
  const mustBeConstructed = tag === Tag.Sequence || tag === Tag.Set;
  const mayBeConstructed = mustBeConstructed || tag === Tag.OctetString || tag === Tag.BitString;
  if (mustBeConstructed && !node.constructed) throw malformed(`${what} must be constructed`);
  if (!mayBeConstructed && node.constructed) throw malformed(`${what} must be primitive`);
  return node;
}

/** The children of a SEQUENCE, checking the tag. */
export function sequence(node: DerNode | undefined, what: string): DerNode[] {
  return children(expectUniversal(node, Tag.Sequence, what));
}

/** The children of a SET, checking the tag. */
export function set(node: DerNode | undefined, what: string): DerNode[] {
  return children(expectUniversal(node, Tag.Set, what));
}

/** The single element inside an `[n] EXPLICIT` context tag. */
export function explicit(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) throw malformed(`missing ${what}`);
  if (!isContext(node, tag) || !node.constructed) throw malformed(`expected [${tag}] for ${what}`);
  const inner = children(node);
  if (inner.length !== 1 || inner[0] === undefined) throw malformed(`${what} must hold exactly one value`);
  return inner[0];
}

/** Decodes an OBJECT IDENTIFIER to dotted form. */
export function readOid(node: DerNode | undefined, what = 'object identifier'): string {
  const v = expectUniversal(node, Tag.Oid, what).value;
  if (v.length === 0) throw malformed(`empty ${what}`);
  const arcs: number[] = [];
  let acc = 0;
  let fresh = true;
  for (const b of v) {
    if (fresh && b === 0x80) throw malformed(`non-minimal ${what}`);
    if (acc > 2 ** 45) throw malformed(`${what} arc too large`);
    acc = acc * 128 + (b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      if (arcs.length === 0) {
        const first = acc < 40 ? 0 : acc < 80 ? 1 : 2;
        arcs.push(first, acc - first * 40);
      } else {
        arcs.push(acc);
      }
      acc = 0;
    }
  }
  if (!fresh) throw malformed(`truncated ${what}`);
  return arcs.join('.');
}

/** Decodes an INTEGER that must fit a safe JavaScript integer. */
export function readInteger(node: DerNode | undefined, what = 'integer'): number {
  const v = expectUniversal(node, Tag.Integer, what).value;
  if (v.length === 0) throw malformed(`empty ${what}`);
  if (v.length > 7) throw malformed(`${what} out of range`);
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  if ((v[0] ?? 0) & 0x80) n -= 1n << BigInt(v.length * 8);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw malformed(`${what} out of range`);
  }
  return Number(n);
}

/** Decodes a non-negative INTEGER no larger than `max`. */
export function readUnsigned(node: DerNode | undefined, what: string, max = 0x7fffffff): number {
  const n = readInteger(node, what);
  if (n < 0 || n > max) throw malformed(`${what} out of range`);
  return n;
}

/**
 * The content of an OCTET STRING, joining the segments of a constructed (BER) one.
 * With `implicitTag`, the node may carry that context tag instead of the universal one
 * (`[n] IMPLICIT OCTET STRING`).
 */
export function readOctetString(
  node: DerNode | undefined,
  what = 'octet string',
  implicitTag?: number,
): Buffer {
  if (node === undefined) throw malformed(`missing ${what}`);
  const tagOk =
    isUniversal(node, Tag.OctetString) || (implicitTag !== undefined && isContext(node, implicitTag));
  if (!tagOk) throw malformed(`expected ${what}`);
  if (!node.constructed) return node.value;
  const parts: Buffer[] = [];
  for (const child of children(node)) parts.push(readOctetString(child, what));
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
}

/** An AlgorithmIdentifier: the OID and its parameters (absent or NULL → undefined). */
export interface AlgorithmIdentifier {
  readonly oid: string;
  readonly params: DerNode | undefined;
}

export function readAlgorithm(node: DerNode | undefined, what = 'algorithm identifier'): AlgorithmIdentifier {
  const parts = sequence(node, what);
  if (parts.length < 1 || parts.length > 2) throw malformed(`bad ${what}`);
  const params = parts[1];
  return {
    oid: readOid(parts[0], what),
    params: params === undefined || isUniversal(params, Tag.Null) ? undefined : params,
  };
}

/** Decodes a character string (BMPString, UTF8String, PrintableString, IA5String). */
export function readString(node: DerNode | undefined, what = 'string'): string {
  if (node === undefined) throw malformed(`missing ${what}`);
  if (node.cls !== TagClass.Universal || node.constructed) throw malformed(`expected ${what}`);
  switch (node.tag) {
    case Tag.BmpString: {
      if (node.value.length % 2 !== 0) throw malformed(`odd-length BMPString in ${what}`);
      return Buffer.from(node.value).swap16().toString('utf16le');
    }
    case Tag.Utf8String:
      return node.value.toString('utf8');
    case Tag.PrintableString:
    case Tag.Ia5String:
      return node.value.toString('latin1');
    default:
      throw malformed(`expected ${what}`);
  }
}
