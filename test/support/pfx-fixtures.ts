/**
 * The PFX fixtures (test/fixtures/pfx, made by scripts/make-pfx-fixtures.sh) and what openssl
 * read out of them when they were made (expected.json): the reference both the PKCS#12 reader
 * and the certificate metadata are tested against.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURES = new URL('../fixtures/pfx/', import.meta.url);

/** The password of every protected fixture. */
export const FIXTURE_PASSWORD = 'Fixture-Pa55!';

export interface ExpectedCert {
  subject: string;
  issuer: string;
  sha1: string;
  subjectAltName: string;
  notBefore: string;
  notAfter: string;
  serial: string;
}

export interface ExpectedFile {
  /** `<protection folder>/<name>.pfx`, relative to the fixtures folder. */
  file: string;
  password: string;
  size: number;
  keyBagLeafSha1: string | null;
  certificates: ExpectedCert[];
}

export const expectedFixtures = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as {
  password: string;
  files: ExpectedFile[];
};

/** The file system path of one fixture, by its path relative to the fixtures folder. */
export const fixturePath = (file: string): string => fileURLToPath(new URL(file, FIXTURES));

/** The bytes of one fixture, by its path relative to the fixtures folder. */
export const loadFixture = (file: string): Buffer => readFileSync(new URL(file, FIXTURES));
