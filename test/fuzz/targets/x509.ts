/**
 * The X.509 reader (shared/certificates/x509.ts) on one certificate's DER: what the inventory
 * reports about the leaf certificate of every file of the share. A refusal is a `Pkcs12Error`
 * ('malformed'); anything else is a finding, as is a result whose dates are not ISO 8601.
 */
import { readX509 } from '../../../shared/certificates/x509.js';
import { Pkcs12Error, readPfxCertificates } from '../../../shared/pkcs12/pfx.js';
import { expectedFixtures, loadFixture } from '../../support/pfx-fixtures.js';
import { FuzzFinding, expectOnly, type FuzzTarget } from '../engine/target.js';
import { PKCS12_DICTIONARY } from './der-dictionary.js';

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Every distinct certificate of the PFX fixtures. */
function fixtureCertificates(): Buffer[] {
  const seen = new Map<string, Buffer>();
  for (const f of expectedFixtures.files) {
    for (const der of readPfxCertificates(loadFixture(f.file), f.password).certificates) {
      seen.set(der.toString('base64'), der);
    }
  }
  return [...seen.values()];
}

export const x509Target: FuzzTarget = {
  name: 'x509',
  description: "a certificate's DER: subject, issuer, SANs, key usages, validity, public key",
  seeds: fixtureCertificates,
  run(input) {
    expectOnly(
      (e) => e instanceof Pkcs12Error,
      () => {
        const info = readX509(input);
        for (const date of [info.validFrom, info.validTo]) {
          if (!ISO_SECONDS.test(date)) throw new FuzzFinding(`validity is not ISO 8601: ${date}`);
        }
      },
    );
  },
  coverage: ['/shared/pkcs12/der.ts', '/shared/certificates/x509.ts'],
  maxLength: 8 * 1024,
  dictionary: PKCS12_DICTIONARY,
};
