/**
 * Certificates for the Key Vault certificate and publisher tests, made by the `openssl` CLI (the
 * local Key Vault's own self-signed issuer), and `openssl pkcs12` as the independent reader and
 * writer of PFX files. Passwords reach openssl through the environment, never its command line.
 */
import { execFile } from 'node:child_process';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { issueSelfSigned, type SelfSignedRequest } from '../../local/keyvault/self-signed.js';

const run = promisify(execFile);
const DAY = 24 * 3600 * 1000;

export interface TestCertificate {
  privateKey: KeyObject;
  certificate: X509Certificate;
}

/** A self-signed certificate valid from yesterday for a year unless told otherwise. */
export async function makeCertificate(
  dnsNames: string[],
  options: Partial<SelfSignedRequest> = {},
): Promise<TestCertificate> {
  const now = Date.now();
  const issued = await issueSelfSigned({
    subject: `CN=${dnsNames[0] ?? 'test'}`,
    dnsNames,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    ...options,
  });
  return { privateKey: issued.privateKey, certificate: issued.certificate };
}

/** Runs `openssl` in a scratch folder holding `files`; the password in $CCS_TEST_PASS. */
async function inScratch<T>(
  files: Record<string, string | Buffer>,
  password: string,
  work: (openssl: (args: string[]) => Promise<{ stdout: string; stderr: string }>, dir: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ccs-test-openssl-'));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const openssl = async (args: string[]) => {
      try {
        return await run('openssl', args, { cwd: dir, env: { ...process.env, CCS_TEST_PASS: password } });
      } catch (error) {
        throw new Error(`openssl ${args[0] ?? ''} failed: ${(error as { stderr?: string }).stderr ?? ''}`);
      }
    };
    return await work(openssl, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A PFX written by `openssl pkcs12 -export` (OpenSSL 3 default AES, or `-legacy` 3DES/RC2). */
export function opensslPfx(cert: TestCertificate, password: string, legacy = false): Promise<Buffer> {
  const key = cert.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return inScratch(
    { 'key.pem': key, 'cert.pem': cert.certificate.toString() },
    password,
    async (openssl, dir) => {
      const args = ['pkcs12', '-export', '-inkey', 'key.pem', '-in', 'cert.pem', '-out', 'out.pfx'];
      await openssl([...args, '-passout', 'env:CCS_TEST_PASS', ...(legacy ? ['-legacy'] : [])]);
      return readFile(join(dir, 'out.pfx'));
    },
  );
}

/** What `openssl pkcs12 -info` says about a PFX (algorithms, iterations); throws when it cannot read it. */
export function opensslPkcs12Info(pfx: Buffer, password: string): Promise<string> {
  return inScratch({ 'in.pfx': pfx }, password, async (openssl) => {
    // -info writes to stderr; -noout keeps the key and certificates out of the output.
    const { stderr } = await openssl([
      'pkcs12',
      '-in',
      'in.pfx',
      '-info',
      '-noout',
      '-passin',
      'env:CCS_TEST_PASS',
    ]);
    return stderr;
  });
}

/** The key (unencrypted PEM) and certificates `openssl pkcs12` extracts from a PFX. */
export function opensslPkcs12Extract(pfx: Buffer, password: string): Promise<string> {
  return inScratch({ 'in.pfx': pfx }, password, async (openssl) => {
    const { stdout } = await openssl(['pkcs12', '-in', 'in.pfx', '-nodes', '-passin', 'env:CCS_TEST_PASS']);
    return stdout;
  });
}
