/**
 * Reports bound to their host (shared/report-signature.ts) and one-time enrolment proofs
 * (shared/enrolment.ts): the pure functions the API folds reports with. A report verifies only
 * against the key its host registered; any change, another host's key, a forgery under the right
 * `kid` or no signature is refused; older schemas still parse a signed report.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ENROLMENT_CODE,
  enrolmentProof,
  generateEnrolmentCode,
  hashEnrolmentCode,
  verifyEnrolmentProof,
} from '../../shared/enrolment.js';
import { HelloReportSchema, ReportSchema, type HostPublicKey } from '../../shared/messages.js';
import {
  jwkThumbprint,
  signReport,
  verifyReportSignature,
  type ReportSigner,
} from '../../shared/report-signature.js';
import { sampleHello, sampleResult } from '../support/sample-reports.js';
import { leavesOf, withLeaf } from '../support/tamper.js';

function hostKey(): ReportSigner {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicKey: { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! } };
}

const result = sampleResult;
const asReceived = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

describe('report signatures', () => {
  const web01 = hostKey();
  const web02 = hostKey();

  it('names the key by its RFC 7638 thumbprint, as jose computes it', async () => {
    expect(jwkThumbprint(web01.publicKey)).toBe(
      await calculateJwkThumbprint({ ...web01.publicKey }, 'sha256'),
    );
  });

  it("verifies a report against its host's registered key, after a trip through the queue", () => {
    const signed = signReport(result(), web01);
    expect(signed.sig).toMatchObject({ v: 1, alg: 'ES256', kid: jwkThumbprint(web01.publicKey) });
    expect(verifyReportSignature(asReceived(signed), web01.publicKey)).toEqual({ ok: true });
    expect(ReportSchema.parse(asReceived(signed))).toMatchObject({ type: 'result', sig: signed.sig });
  });

  it('refuses any change to any member', () => {
    const signed = asReceived(signReport(result(), web01));
    fc.assert(
      fc.property(fc.constantFrom(...leavesOf(signed)), fc.jsonValue({ maxDepth: 1 }), (path, value) => {
        const tampered = withLeaf(signed, path, value);
        fc.pre(tampered !== undefined);
        expect(verifyReportSignature(tampered, web01.publicKey)).toMatchObject({
          ok: false,
          code: 'InvalidReportSignature',
        });
      }),
      { seed: 17, numRuns: 300 },
    );
  });

  it('refuses a report claiming another host: signed by that host’s key, forged under its kid, or unsigned', () => {
    const fromWeb02 = asReceived(signReport(result(), web02));
    expect(verifyReportSignature(fromWeb02, web01.publicKey)).toMatchObject({
      ok: false,
      code: 'WrongHostKey',
    });
    const forged = {
      ...fromWeb02,
      sig: { ...(fromWeb02.sig as object), kid: jwkThumbprint(web01.publicKey) },
    };
    expect(verifyReportSignature(forged, web01.publicKey)).toMatchObject({
      ok: false,
      code: 'InvalidReportSignature',
    });
    expect(verifyReportSignature(asReceived(result()), web01.publicKey)).toMatchObject({
      ok: false,
      code: 'ReportUnsigned',
    });
    for (const sig of [null, 'x', {}, { v: 2, alg: 'ES256', kid: 'k', sig: 's' }]) {
      expect(verifyReportSignature({ ...asReceived(result()), sig }, web01.publicKey)).toMatchObject({
        ok: false,
        code: 'InvalidReportSignature',
      });
    }
    expect(verifyReportSignature('not an object', web01.publicKey)).toMatchObject({ ok: false });
    const offCurve: HostPublicKey = { ...web01.publicKey, y: web02.publicKey.y };
    const selfSigned = asReceived(signReport(result(), { ...web01, publicKey: offCurve }));
    expect(verifyReportSignature(selfSigned, offCurve)).toMatchObject({ ok: false });
  });

  it('covers members an older API does not know, which still parses the report', () => {
    const newer = asReceived(signReport({ ...result(), bindings: [{ host: 'www.contoso.com' }] }, web01));
    expect(verifyReportSignature(newer, web01.publicKey)).toEqual({ ok: true });
    expect(verifyReportSignature({ ...newer, bindings: [] }, web01.publicKey)).toMatchObject({ ok: false });
    const olderHello = HelloReportSchema.omit({ sig: true, hostKey: true, enrolmentProof: true });
    const hello = signReport(sampleHello({ hostKey: web01.publicKey }), web01);
    expect(olderHello.safeParse(asReceived(hello)).success).toBe(true);
  });
});

describe('enrolment codes', () => {
  const key = hostKey().publicKey;
  const other = hostKey().publicKey;

  it('are 32 base64url characters, stored as a SHA-256 hash', () => {
    const code = generateEnrolmentCode();
    expect(code).toMatch(ENROLMENT_CODE);
    expect(hashEnrolmentCode(code)).toMatch(/^[0-9a-f]{64}$/);
    expect(generateEnrolmentCode()).not.toBe(code);
  });

  it('prove knowledge of the code for exactly this ccs-id, host and key, without containing the code', () => {
    const code = generateEnrolmentCode();
    const hash = hashEnrolmentCode(code);
    const proof = enrolmentProof(code, 'farm-a', 'WEB01', key);
    expect(proof).not.toContain(code);
    expect(verifyEnrolmentProof(proof, hash, 'farm-a', 'web01', key)).toBe(true);
    expect(
      verifyEnrolmentProof(proof, hashEnrolmentCode(generateEnrolmentCode()), 'farm-a', 'web01', key),
    ).toBe(false);
    expect(verifyEnrolmentProof(proof, hash, 'farm-b', 'web01', key)).toBe(false);
    expect(verifyEnrolmentProof(proof, hash, 'farm-a', 'web02', key)).toBe(false);
    expect(verifyEnrolmentProof(proof, hash, 'farm-a', 'web01', other)).toBe(false);
    expect(verifyEnrolmentProof('short', hash, 'farm-a', 'web01', key)).toBe(false);
  });
});
