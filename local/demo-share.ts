/**
 * The local demo's certificate share, for the simulated backend: `<shareRoot>/ccs/` (that is
 * `\\localhost\ccs`) with a few PFX files made by the `openssl` CLI on first start, and a share
 * account `LOCALHOST\ccs-reader` that may read it.
 *
 * - `www.contoso.com.pfx` (SAN www.contoso.com), `_.contoso.com.pfx` (wildcard) and
 *   `expired.contoso.com.pfx` (validity entirely in the past), all encrypted with the given
 *   private-key password. The password reaches openssl through the environment
 *   (`-passout env:…`), never its command line, where any local user could read it.
 * - Idempotent: existing files that the password opens are kept; one it does not open (the
 *   demo was seeded with another password) is regenerated.
 * - The account's generated password is kept in `<shareRoot>/demo.json` (mode 0600) so the
 *   demo stays usable across restarts. That is acceptable for a local demo only.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createShareAccount } from '../agent/backends/simulated.js';
import { verifyPfxPassword } from '../shared/pkcs12/pfx.js';

const run = promisify(execFile);

export const DEMO_SHARE = 'ccs';
export const DEMO_USERNAME = 'LOCALHOST\\ccs-reader';

export interface DemoShare {
  /** The CCS path to configure: `\\localhost\ccs`. */
  path: string;
  /** The local folder behind it. */
  folder: string;
  username: string;
  password: string;
  privateKeyPassword: string;
}

interface DemoCertificate {
  file: string;
  commonName: string;
  /** `openssl ca` dates (YYYYMMDDHHMMSSZ). */
  notBefore: string;
  notAfter: string;
}

function opensslDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function demoCertificates(now: Date): DemoCertificate[] {
  const yearMs = 365 * 24 * 3600 * 1000;
  const current = {
    notBefore: opensslDate(new Date(now.getTime() - 24 * 3600 * 1000)),
    notAfter: opensslDate(new Date(now.getTime() + yearMs)),
  };
  return [
    { file: 'www.contoso.com.pfx', commonName: 'www.contoso.com', ...current },
    { file: '_.contoso.com.pfx', commonName: '*.contoso.com', ...current },
    {
      file: 'expired.contoso.com.pfx',
      commonName: 'expired.contoso.com',
      notBefore: opensslDate(new Date(now.getTime() - 2 * yearMs)),
      notAfter: opensslDate(new Date(now.getTime() - yearMs)),
    },
  ];
}

async function openssl(args: string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  try {
    await run('openssl', args, { cwd, env: { ...process.env, ...env } });
  } catch (error) {
    const { code, stderr } = error as NodeJS.ErrnoException & { stderr?: string };
    if (code === 'ENOENT')
      throw new Error('The openssl CLI is needed to create the demo certificates (not found on PATH)');
    throw new Error(`openssl ${args[0]} failed: ${(stderr ?? '').trim().split('\n').slice(-1)[0] ?? ''}`);
  }
}

/**
 * One self-signed certificate with arbitrary validity dates. `openssl req -x509` cannot back-date
 * a certificate in OpenSSL 3.0, so `openssl ca -selfsign` with a throwaway CA database does it.
 */
async function createPfx(target: string, cert: DemoCertificate, privateKeyPassword: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ccs-demo-'));
  try {
    await writeFile(join(work, 'index.txt'), '');
    await writeFile(join(work, 'serial'), `${randomBytes(8).toString('hex')}\n`);
    await writeFile(
      join(work, 'ca.cnf'),
      [
        '[ ca ]',
        'default_ca = demo',
        '[ demo ]',
        'database = ./index.txt',
        'new_certs_dir = .',
        'serial = ./serial',
        'default_md = sha256',
        'policy = any',
        'copy_extensions = copy',
        'unique_subject = no',
        '[ any ]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    await openssl(
      [
        'req',
        '-new',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'req.csr',
        '-subj',
        `/CN=${cert.commonName}`,
        '-addext',
        `subjectAltName=DNS:${cert.commonName}`,
      ],
      work,
    );
    await openssl(
      [
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-selfsign',
        '-keyfile',
        'key.pem',
        '-in',
        'req.csr',
        '-out',
        'cert.pem',
        '-startdate',
        cert.notBefore,
        '-enddate',
        cert.notAfter,
        '-notext',
      ],
      work,
    );
    await openssl(
      [
        'pkcs12',
        '-export',
        '-inkey',
        'key.pem',
        '-in',
        'cert.pem',
        '-name',
        cert.commonName,
        '-out',
        'out.pfx',
        '-passout',
        'env:CCS_DEMO_PFX_PASSWORD',
      ],
      work,
      { CCS_DEMO_PFX_PASSWORD: privateKeyPassword },
    );
    await writeFile(target, await readFile(join(work, 'out.pfx')), { mode: 0o644 });
  } finally {
    // The unencrypted private key lives only in this folder.
    await rm(work, { recursive: true, force: true });
  }
}

async function opensWith(file: string, password: string): Promise<boolean> {
  try {
    return verifyPfxPassword(await readFile(file), password) === 'ok';
  } catch {
    return false; // missing or malformed: (re)create it
  }
}

async function accountPassword(shareRoot: string): Promise<string> {
  const file = join(shareRoot, 'demo.json');
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { password?: unknown };
    if (typeof saved.password === 'string' && saved.password !== '') return saved.password;
  } catch {
    // First start (or an unreadable file): generate a new password below.
  }
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${JSON.stringify({ username: DEMO_USERNAME, password }, null, 2)}\n`, {
    mode: 0o600,
  });
  await chmod(file, 0o600);
  return password;
}

export async function seedDemoShare(options: {
  shareRoot: string;
  privateKeyPassword: string;
  now?: Date;
}): Promise<DemoShare> {
  const { shareRoot, privateKeyPassword } = options;
  const folder = join(shareRoot, DEMO_SHARE);
  await mkdir(folder, { recursive: true });
  for (const cert of demoCertificates(options.now ?? new Date())) {
    const target = join(folder, cert.file);
    if (!(await opensWith(target, privateKeyPassword))) await createPfx(target, cert, privateKeyPassword);
  }
  const password = await accountPassword(shareRoot);
  await createShareAccount(shareRoot, DEMO_USERNAME, password, [DEMO_SHARE]);
  return {
    path: `\\\\localhost\\${DEMO_SHARE}`,
    folder,
    username: DEMO_USERNAME,
    password,
    privateKeyPassword,
  };
}
