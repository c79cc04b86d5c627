/**
 * One-time enrolment codes (issue 17): a write-role caller creates one for a ccs-id, an operator
 * puts it in a new host's agent configuration, and the host's first `hello` proves it knows the
 * code — without sending it — by an HMAC keyed with the code's hash over the ccs-id, the host name
 * and the thumbprint of the public key it enrols. The API keeps only the hash (SHA-256; codes are
 * 192 random bits, so no salt or slow hash is needed, as for access tokens), so:
 *
 * - the code never travels on a queue or reaches a table;
 * - a proof read off the reports queue enrols nothing else: it is bound to that host and key;
 * - the API checks a proof against each unexpired, unused code hash of the ccs-id and spends the
 *   one that matches (single use is the API's conditional write).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HostPublicKey } from './messages.js';
import { normalizeHostName } from './names.js';
import { jwkThumbprint } from './report-signature.js';

const DOMAIN = 'ccs-enrolment-v1\n';
/** How long a code works: an hour unless its creator says otherwise, at most a day. */
export const CODE_TTL_MINUTES = { default: 60, min: 1, max: 1440 } as const;

/** What a code looks like: 32 base64url characters (24 random bytes). */
export const ENROLMENT_CODE = /^[A-Za-z0-9_-]{32}$/;

export function generateEnrolmentCode(): string {
  return randomBytes(24).toString('base64url');
}

/** The hash the API stores instead of the code (hex SHA-256). */
export function hashEnrolmentCode(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

function proofWithHash(codeHash: string, ccsId: string, host: string, hostKey: HostPublicKey): Buffer {
  return createHmac('sha256', Buffer.from(codeHash, 'hex'))
    .update(`${DOMAIN}${ccsId}\n${normalizeHostName(host)}\n${jwkThumbprint(hostKey)}`)
    .digest();
}

/** The agent's side: the `enrolmentProof` of its hello. */
export function enrolmentProof(code: string, ccsId: string, host: string, hostKey: HostPublicKey): string {
  return proofWithHash(hashEnrolmentCode(code), ccsId, host, hostKey).toString('base64url');
}

/** The API's side: whether `proof` was made with the code whose stored hash is `codeHash`. */
export function verifyEnrolmentProof(
  proof: string,
  codeHash: string,
  ccsId: string,
  host: string,
  hostKey: HostPublicKey,
): boolean {
  const expected = proofWithHash(codeHash, ccsId, host, hostKey);
  const presented = Buffer.from(proof, 'base64url');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
