/**
 * The PKCS#12 reader as the agent uses it on a file of the share (anyone who can write to the
 * share can put one there): the preflight's password check (`verifyPfxPassword`) and the
 * inventory's read (`readPfxCertificates` with the MAC only when needed, the leaf certificate,
 * `readX509`, the inventory entry). A refusal is a `Pkcs12Error`; anything else is a finding,
 * and so is a refusal that `guard()` made out of an internal error ("unreadable structure" with
 * a cause other than a bad decryption: a TypeError or a stack overflow in the parser).
 *
 * Iterations are capped at 2,048 here (the fixtures' count; the agent allows 1,000,000) and the
 * seeds include one-iteration copies of the fixtures, so that the fuzzer spends its time on
 * structure, not on key derivation; the cap itself is tested in pkcs12.test.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { InventoryFileSchema } from '../../../shared/certificates/metadata.js';
import { describeCertificateFile } from '../../../shared/certificates/describe.js';
import { readX509 } from '../../../shared/certificates/x509.js';
import {
  Pkcs12Error,
  leafCertificateDer,
  readPfxCertificates,
  verifyPfxPassword,
} from '../../../shared/pkcs12/pfx.js';
import { FIXTURE_PASSWORD, expectedFixtures, loadFixture } from '../../support/pfx-fixtures.js';
import { FuzzFinding, expectOnly, type FuzzTarget } from '../engine/target.js';
import { PKCS12_DICTIONARY } from './der-dictionary.js';

const OPTIONS = { maxIterations: 2048 } as const;
const FAST_SEEDS = new URL('../../fixtures/fuzz/seeds/pkcs12/', import.meta.url);

/** A refusal of the reader, not an internal error that `guard()` dressed up as one. */
export function isRefusal(error: unknown): boolean {
  return error instanceof Pkcs12Error && !error.message.endsWith('unreadable structure');
}

/** What the agent's inventory does with one file, with the oracles of a fuzz target. */
export function readLikeTheInventory(bytes: Buffer, password: string): void {
  let completed = false;
  expectOnly(isRefusal, () => {
    const contents = readPfxCertificates(bytes, password, { ...OPTIONS, macCheck: 'when-needed' });
    const leaf = leafCertificateDer(contents);
    if (leaf) readX509(leaf);
    completed = true;
  });
  if (!completed) return;
  // The entry the agent reports: never throws, and always passes the report schema (the agent
  // checks it before sending; an entry that fails would sink the whole inventory chunk).
  const entry = describeCertificateFile(
    { name: 'fuzz.pfx', size: bytes.length, mtimeMs: 0 },
    bytes,
    password,
  );
  const checked = InventoryFileSchema.safeParse(entry);
  if (!checked.success) {
    throw new FuzzFinding(`inventory entry fails its schema: ${checked.error.issues[0]?.message ?? ''}`);
  }
}

export const pkcs12Target: FuzzTarget = {
  name: 'pkcs12',
  description: 'a .pfx file of the share: preflight password check and inventory read',
  seeds: () => [
    ...readdirSync(FAST_SEEDS).map((name) => readFileSync(new URL(name, FAST_SEEDS))),
    ...expectedFixtures.files.map((f) => loadFixture(f.file)),
  ],
  run(input) {
    expectOnly(isRefusal, () => verifyPfxPassword(input, FIXTURE_PASSWORD, OPTIONS));
    readLikeTheInventory(input, FIXTURE_PASSWORD);
  },
  coverage: ['/shared/pkcs12/', '/shared/certificates/'],
  maxLength: 16 * 1024,
  dictionary: PKCS12_DICTIONARY,
};
