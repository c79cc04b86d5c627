/**
 * Entity tags of the centralized-certificates resource: `"g<generation>"` (every accepted change
 * bumps the generation, so the tag changes exactly when the desired state does), and `If-Match`
 * read into the generations it accepts.
 */
import type { CcsRecord } from '../../shared/model.js';
import type { ExpectedGenerations } from '../../shared/services/ccs-service.js';

export function etagOf(record: CcsRecord): string {
  return `"g${record.generation}"`;
}

/**
 * RFC 9110 `If-Match`: absent or `*` → no condition; otherwise the generations named by its
 * tags (weak tags compare by value; a tag that is not ours names none, so it never matches).
 */
export function parseIfMatch(header: string | null): ExpectedGenerations {
  if (header === null) return null;
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (tags.includes('*')) return null;
  return tags.flatMap((tag) => {
    // Tags compare as strings (RFC 9110 §8.8.3.2): "g01" is not "g1".
    const match = /^"g(0|[1-9]\d{0,14})"$/.exec(tag);
    return match ? [Number(match[1])] : [];
  });
}
