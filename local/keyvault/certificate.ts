/**
 * A self-signed TLS certificate for the local Key Vault endpoint. The Key Vault SDK only speaks
 * HTTPS to a vault (plain http needs `allowInsecureConnection`), so the local endpoint needs a
 * certificate the client can trust through `tlsOptions.ca`. Generated once with the `openssl`
 * CLI and reused, so a client that saved the CA file keeps working across restarts.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificatePaths {
  keyPath: string;
  certPath: string;
}

const KEY_FILE = 'keyvault-key.pem';
const CERT_FILE = 'keyvault-cert.pem';
/** Regenerate this long before expiry, so a long-running stack never hits an expired cert. */
const MIN_REMAINING_MS = 7 * 24 * 3600 * 1000;

/** Returns the key and certificate in `dir`, generating them when missing, stale or unusable. */
export async function ensureSelfSignedCertificate(dir: string): Promise<CertificatePaths> {
  const paths = { keyPath: join(dir, KEY_FILE), certPath: join(dir, CERT_FILE) };
  if (await isUsable(paths)) return paths;

  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Generate in a private scratch directory and rename into place: a crash or a concurrent
  // reader never sees a half-written key or a key without its certificate.
  const scratch = await mkdtemp(join(dir, '.gen-'));
  try {
    const keyPath = join(scratch, KEY_FILE);
    const certPath = join(scratch, CERT_FILE);
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '825',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { timeout: 30_000 },
    );
    await chmod(keyPath, 0o600);
    await rename(keyPath, paths.keyPath);
    await rename(certPath, paths.certPath);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return paths;
}

async function isUsable({ keyPath, certPath }: CertificatePaths): Promise<boolean> {
  try {
    const key = createPrivateKey(await readFile(keyPath));
    const cert = new X509Certificate(await readFile(certPath));
    const remaining = new Date(cert.validTo).getTime() - Date.now();
    return (
      remaining > MIN_REMAINING_MS &&
      cert.checkPrivateKey(key) &&
      cert.checkHost('localhost') !== undefined &&
      cert.checkIP('127.0.0.1') !== undefined
    );
  } catch {
    return false;
  }
}
