/**
 * Request edge checks: body size (64 KiB), JSON media type, JSON syntax, and `Prefer: wait`.
 * Each rejection is a DomainError naming what was wrong, before anything is changed.
 */
import type { HttpRequest } from '@azure/functions';
import { DomainError, invalid } from '../../shared/errors.js';
import { firstDuplicateKey } from '../../shared/json-duplicates.js';

export const MAX_BODY_BYTES = 64 * 1024;

const tooLarge = (maxBytes: number) =>
  new DomainError('too-large', 'PayloadTooLarge', `The request body exceeds ${maxBytes} bytes`, 'body');

/** `application/json` or `application/*+json`, optionally `charset=utf-8`. */
export function isJsonMediaType(contentType: string | null): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  if (!type || !/^application\/(?:[a-z0-9.-]+\+)?json$/.test(type)) return false;
  return params.every((p) => !p.startsWith('charset=') || /^charset="?utf-8"?$/.test(p));
}

/** `maxBytes`: a route whose bodies are larger by nature (1,000 sources) allows more. */
export async function readJsonBody(request: HttpRequest, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  if (bytes.length === 0) throw invalid('body', 'A JSON request body is required');
  if (!isJsonMediaType(request.headers.get('content-type'))) {
    throw new DomainError(
      'unsupported-media',
      'UnsupportedMediaType',
      'The request body must be application/json',
      'Content-Type',
    );
  }
  let text: string;
  try {
    // Fatal: a Latin-1 'ä' silently turned into U+FFFD would store a password nobody typed.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('body', 'The request body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    // Also covers pathological nesting (RangeError): the body is rejected, the process lives.
    throw invalid('body', 'The request body is not valid JSON');
  }
  // Two equal member names mean different things to different parsers: refuse, naming it.
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== null) throw invalid(duplicate, `Duplicate field '${duplicate}'`);
  return value;
}

/** RFC 7240 `Prefer: wait=N` (N ≤ 60); invalid preferences are ignored, as the RFC asks. */
export function preferredWaitSeconds(request: HttpRequest): number {
  const header = request.headers.get('prefer');
  if (!header) return 0;
  for (const part of header.split(/[,;]/)) {
    const match = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*$/i.exec(part);
    if (match) return Math.min(Number(match[1]), 60);
  }
  return 0;
}
