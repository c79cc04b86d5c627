/**
 * Issues a self-signed certificate for the local Key Vault's `create` with issuer `Self`, with
 * the `openssl` CLI that the local stack already needs (local/demo-share.ts, ./certificate.ts).
 * `openssl req -x509` cannot set arbitrary validity dates in OpenSSL 3.0, so — as the demo share
 * does — a CSR is made with `openssl req` and signed by its own key with `openssl ca -selfsign`
 * and a throwaway CA database. The CSR is kept: Key Vault returns it in the certificate operation.
 * Tests use the same function to make certificates with any names, key and validity.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Key Vault's curve names (JsonWebKeyCurveName) → OpenSSL's. */
const CURVES: Readonly<Record<string, string>> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
  'P-256K': 'secp256k1',
};

export interface SelfSignedRequest {
  /** X.500 name as Key Vault policies write it: `CN=www.contoso.com, O=Contoso`. */
  subject: string;
  dnsNames?: string[];
  keyType?: 'RSA' | 'EC';
  /** RSA modulus bits (default 2048). */
  keySize?: number;
  /** Key Vault curve name for EC keys (default P-256). */
  curve?: string;
  notBefore: Date;
  notAfter: Date;
  /** Extended key usage OIDs. */
  ekus?: string[];
  /** Key usage names as Key Vault and OpenSSL both spell them (`digitalSignature`, …). */
  keyUsage?: string[];
}

export interface SelfSigned {
  privateKey: KeyObject;
  certificate: X509Certificate;
  /** The certificate request, DER. */
  csr: Buffer;
}

/** `CN=a, O=b` → `/CN=a/O=b`; throws on a name OpenSSL's -subj could misread. */
export function opensslSubject(subject: string): string {
  const parts = subject.split(/,\s*(?=[A-Za-z][A-Za-z0-9.]*=)/);
  const rdns = parts.map((part) => {
    const match = /^\s*([A-Za-z][A-Za-z0-9.]*)=(.*?)\s*$/.exec(part);
    if (!match?.[1] || match[2] === undefined || /[/\\\n\r+]/.test(match[2])) {
      throw new Error(`The subject '${subject}' is not a name this endpoint can issue`);
    }
    return `/${match[1]}=${match[2]}`;
  });
  return rdns.join('');
}

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` takes. */
const opensslDate = (date: Date): string => `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

const CA_CONFIG = [
  '[ ca ]',
  'default_ca = local',
  '[ local ]',
  'database = ./index.txt',
  'new_certs_dir = .',
  'serial = ./serial',
  'default_md = sha256',
  'policy = any',
  'copy_extensions = copy',
  'unique_subject = no',
  '[ any ]',
  'commonName = optional',
  '',
].join('\n');

function keyArguments(request: SelfSignedRequest): string[] {
  if (request.keyType === 'EC') {
    const curve = CURVES[request.curve ?? 'P-256'];
    if (!curve) throw new Error(`Unsupported curve ${request.curve ?? ''}`);
    return ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`];
  }
  return ['-newkey', `rsa:${request.keySize ?? 2048}`];
}

function extensionArguments(request: SelfSignedRequest): string[] {
  const add = (value: string) => ['-addext', value];
  return [
    ...add('basicConstraints=critical,CA:FALSE'),
    ...(request.dnsNames?.length
      ? add(`subjectAltName=${request.dnsNames.map((n) => `DNS:${n}`).join(',')}`)
      : []),
    ...(request.keyUsage?.length ? add(`keyUsage=critical,${request.keyUsage.join(',')}`) : []),
    ...(request.ekus?.length ? add(`extendedKeyUsage=${request.ekus.join(',')}`) : []),
  ];
}

/** A new key and a certificate it signed itself. Needs `openssl` on PATH. */
export async function issueSelfSigned(request: SelfSignedRequest): Promise<SelfSigned> {
  const work = await mkdtemp(join(tmpdir(), 'ccs-kv-cert-'));
  const openssl = (args: string[]) => run('openssl', args, { cwd: work, timeout: 60_000 });
  try {
    await writeFile(join(work, 'index.txt'), '');
    await writeFile(join(work, 'serial'), `${randomBytes(16).toString('hex')}\n`);
    await writeFile(join(work, 'ca.cnf'), CA_CONFIG);
    const subject = opensslSubject(request.subject);
    await openssl(
      ['req', '-new', ...keyArguments(request), '-nodes', '-keyout', 'key.pem', '-out', 'req.csr'].concat(
        ['-subj', subject],
        extensionArguments(request),
      ),
    );
    await openssl([
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-selfsign',
      '-preserveDN',
      '-keyfile',
      'key.pem',
      '-in',
      'req.csr',
      '-out',
      'cert.pem',
      '-startdate',
      opensslDate(request.notBefore),
      '-enddate',
      opensslDate(request.notAfter),
      '-notext',
    ]);
    await openssl(['req', '-in', 'req.csr', '-outform', 'DER', '-out', 'req.der']);
    return {
      privateKey: createPrivateKey(await readFile(join(work, 'key.pem'))),
      certificate: new X509Certificate(await readFile(join(work, 'cert.pem'))),
      csr: await readFile(join(work, 'req.der')),
    };
  } finally {
    // The unencrypted private key lives only in this folder.
    await rm(work, { recursive: true, force: true });
  }
}
