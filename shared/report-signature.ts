/**
 * Reports bound to the host that sent them. Each agent made an EC P-256 key pair at enrolment
 * (agent/host-key.ts; the private key never leaves the host) and signs every report; the API,
 * which registered the host's public key, folds only reports that key signed.
 *
 * - Signature: ES256 (`r || s`, base64url) over `ccs-report-v1\n` + the canonical JSON of the
 *   whole report minus `sig` — every member, including ones the API's schema does not know yet.
 * - Envelope (`sig`, shared/messages.ts): `{ v: 1, alg: "ES256", kid, sig }`, `kid` being the
 *   RFC 7638 thumbprint of the host's public key.
 * - Verify the report as it was decoded from the queue, before schema parsing: parsing drops
 *   members the schema does not know, and the signature covers them.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { ReportSignatureSchema, type HostPublicKey, type ReportSignature } from './messages.js';
import { BoundedMap } from './bounded-map.js';

const DOMAIN = 'ccs-report-v1\n';

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace; base64url. */
export function jwkThumbprint(jwk: HostPublicKey): string {
  const required = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(required).digest('base64url');
}

/** The bytes a report signature is over. */
export function reportSigningInput(report: Record<string, unknown>): Buffer {
  const { sig: _sig, ...payload } = report;
  return Buffer.from(DOMAIN + canonicalJson(payload), 'utf8');
}

/** What signs on the host: its private key (never exported) and the public key it goes with. */
export interface ReportSigner {
  publicKey: HostPublicKey;
  privateKey: KeyObject;
}

export function signReport<T extends object>(report: T, key: ReportSigner): T & { sig: ReportSignature } {
  const signature = sign('sha256', reportSigningInput(report as Record<string, unknown>), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return {
    ...report,
    sig: { v: 1, alg: 'ES256', kid: jwkThumbprint(key.publicKey), sig: signature.toString('base64url') },
  };
}

/**
 * Imported public keys by thumbprint: importing a JWK costs about as much as the verification
 * itself (a CPU profile of a 100-host change: 0.36 s of the 1.2 s verifying reports), and a host
 * signs every report with the same key. At most IMPORTED_KEYS_MAX, the oldest forgotten first.
 */
const IMPORTED_KEYS_MAX = 20_000;
const importedKeys = new BoundedMap<string, KeyObject>(IMPORTED_KEYS_MAX);

function importedPublicKey(jwk: HostPublicKey, thumbprint: string): KeyObject {
  const cached = importedKeys.get(thumbprint);
  if (cached) return cached;
  const key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
  importedKeys.set(thumbprint, key);
  return key;
}

export type ReportSignatureCheck =
  | { ok: true }
  | { ok: false; code: 'ReportUnsigned' | 'InvalidReportSignature' | 'WrongHostKey'; detail: string };

/**
 * Whether `report` (decoded from the queue, not yet schema-parsed) was signed by the host whose
 * registered public key is `registeredPublicKey`. Pure: the caller finds the registered key (or,
 * for a `hello` that enrols, takes the key the hello carries and checks the enrolment proof).
 */
export function verifyReportSignature(
  report: unknown,
  registeredPublicKey: HostPublicKey,
): ReportSignatureCheck {
  if (typeof report !== 'object' || report === null || Array.isArray(report)) {
    return { ok: false, code: 'InvalidReportSignature', detail: 'The report is not a JSON object' };
  }
  const raw = report as Record<string, unknown>;
  if (raw.sig === undefined) return { ok: false, code: 'ReportUnsigned', detail: 'The report is not signed' };
  const parsed = ReportSignatureSchema.safeParse(raw.sig);
  if (!parsed.success) {
    return { ok: false, code: 'InvalidReportSignature', detail: 'The report signature is malformed' };
  }
  const thumbprint = jwkThumbprint(registeredPublicKey);
  if (parsed.data.kid !== thumbprint) {
    return {
      ok: false,
      code: 'WrongHostKey',
      detail: "The report is signed by another key than this host's",
    };
  }
  let input: Buffer;
  let key: KeyObject;
  try {
    input = reportSigningInput(raw);
    key = importedPublicKey(registeredPublicKey, thumbprint);
  } catch {
    return { ok: false, code: 'InvalidReportSignature', detail: 'The report or the key cannot be read' };
  }
  const signature = Buffer.from(parsed.data.sig, 'base64url');
  if (!verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature)) {
    return { ok: false, code: 'InvalidReportSignature', detail: 'The report signature does not match' };
  }
  return { ok: true };
}
