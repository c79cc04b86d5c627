/**
 * This host's own key pair (shared/report-signature.ts): made on the agent's first start — its
 * enrolment — and kept in `<stateDir>/host-key.json`; the private key never leaves the host. The
 * agent signs every report with it and announces the public key in `hello`; the API then folds
 * only reports this key signed, so no other host (and nobody who can merely write to the reports
 * queue) can speak for this one.
 *
 * Protection of the private key at rest:
 * - `file`: PKCS#8 in a file only the service account can read (mode 0600; on Windows the state
 *   folder's ACL — Administrators and SYSTEM only, set by install.ps1 — applies).
 * - `dpapi`: additionally encrypted with the Windows data-protection API, LocalMachine scope
 *   (agent/dpapi.ts): a copy of the file taken off the host is useless.
 *
 * A file that cannot be read back is an error, never silently replaced: a new key means the host
 * must enrol again (a new enrolment code or an administrator's approval).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { HostPublicKeySchema, type HostPublicKey } from '../shared/messages.js';
import { jwkThumbprint, type ReportSigner } from '../shared/report-signature.js';
import { writeFileAtomic } from './atomic-file.js';

export const HOST_KEY_FILE = 'host-key.json';

/** Wraps the private key before it is written, and unwraps it when it is read. */
export interface KeyProtector {
  /** Recorded in the file, so a key is never read back with another protection than it was written with. */
  readonly name: 'none' | 'dpapi-localmachine';
  protect(secret: Buffer): Promise<Buffer>;
  unprotect(stored: Buffer): Promise<Buffer>;
}

/** The file's own permissions are the protection (mode 0600 / the state folder's ACL). */
export const FILE_PERMISSIONS_ONLY: KeyProtector = {
  name: 'none',
  protect: (secret) => Promise.resolve(secret),
  unprotect: (stored) => Promise.resolve(stored),
};

const HostKeyFileSchema = z.strictObject({
  v: z.literal(1),
  alg: z.literal('ES256'),
  protection: z.enum(['none', 'dpapi-localmachine']),
  publicKey: HostPublicKeySchema,
  /** PKCS#8 DER, base64, as `protection` left it. */
  privateKey: z.string().min(1),
  createdAt: z.string(),
});

export class HostKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostKeyError';
  }
}

export interface HostKey extends ReportSigner {
  thumbprint: string;
  /** True when this start made the key (the host enrols with it). */
  created: boolean;
}

function publicJwk(key: KeyObject): HostPublicKey {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return HostPublicKeySchema.parse({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
}

/** This host's key from `stateDir`, made (and written with `protector`) on the first start. */
export async function loadOrCreateHostKey(
  stateDir: string,
  protector: KeyProtector,
  now: () => Date = () => new Date(),
): Promise<HostKey> {
  const file = join(stateDir, HOST_KEY_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) return readHostKey(file, text, protector);

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = publicJwk(privateKey);
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const stored = await protector.protect(der);
  const body = {
    v: 1,
    alg: 'ES256',
    protection: protector.name,
    publicKey,
    privateKey: stored.toString('base64'),
    createdAt: now().toISOString(),
  };
  await writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`, 0o600);
  return { privateKey, publicKey, thumbprint: jwkThumbprint(publicKey), created: true };
}

async function readHostKey(file: string, text: string, protector: KeyProtector): Promise<HostKey> {
  const again = `delete it to make a new key (the host then needs a new enrolment code or an administrator's approval)`;
  let parsed: z.infer<typeof HostKeyFileSchema>;
  try {
    parsed = HostKeyFileSchema.parse(JSON.parse(text));
  } catch {
    throw new HostKeyError(`${file} is not a host key file; ${again}`);
  }
  if (parsed.protection !== protector.name) {
    throw new HostKeyError(
      `${file} is protected with '${parsed.protection}' but the agent is configured for '${protector.name}' (hostKey.protection)`,
    );
  }
  let privateKey: KeyObject;
  try {
    const der = await protector.unprotect(Buffer.from(parsed.privateKey, 'base64'));
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (error) {
    if (error instanceof HostKeyError) throw error;
    throw new HostKeyError(`the private key in ${file} cannot be read; ${again}`);
  }
  const derived = publicJwk(privateKey);
  if (derived.x !== parsed.publicKey.x || derived.y !== parsed.publicKey.y) {
    throw new HostKeyError(`the keys in ${file} do not belong together; ${again}`);
  }
  return {
    privateKey,
    publicKey: parsed.publicKey,
    thumbprint: jwkThumbprint(parsed.publicKey),
    created: false,
  };
}

/** The public key's thumbprint, read without touching the private key (for `ccs-agent status`). */
export async function readHostKeyThumbprint(stateDir: string): Promise<string | null> {
  try {
    const text = await readFile(join(stateDir, HOST_KEY_FILE), 'utf8');
    const parsed = z.object({ publicKey: HostPublicKeySchema }).safeParse(JSON.parse(text));
    return parsed.success ? jwkThumbprint(parsed.data.publicKey) : null;
  } catch {
    return null;
  }
}
