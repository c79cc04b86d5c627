/**
 * Commands signed by the API, verified by agents before anything is applied: a principal that
 * can write to a host's queue — or that holds an agent's identity — cannot redirect a fleet to
 * another share, change its identity, or replay a command to another host.
 *
 * - Key: the Key Vault key `ccs-command-signing` (EC P-256, not exportable: the private key never
 *   leaves Key Vault). The API may `sign` with it (Key Vault Crypto User on that key); agents may
 *   only read its public part (Key Vault Reader on that key). `kid` is the key version.
 * - Signature: ES256 over `ccs-command-v2\n` + the canonical JSON (shared/canonical-json.ts) of the
 *   whole message minus `sig` — every field, including ones a given agent does not know. The API
 *   hashes (SHA-256) and Key Vault signs the digest; the result is `r || s` (64 bytes).
 * - Rotation: a new key version. The API signs with the newest version, looked up again every
 *   KEY_CACHE_MS; agents verify any enabled version a command names, so a command signed with the
 *   previous version stays valid for the rest of its lifetime.
 * - Lifetime: a command is refused COMMAND_LIFETIME_SECONDS after it was issued (the command
 *   queue's TTL) or when issued more than CLOCK_SKEW_SECONDS in the future.
 */
import { createHash, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { CommandSignatureSchema, type AgentCommand, type CommandSignature } from './messages.js';
import type { CommandBus } from './ports.js';

/** Also here: callers that canonicalise commands (e.g. the fuzz targets) found it here before. */
export { canonicalJson } from './canonical-json.js';

/** The Key Vault key commands are signed with. */
export const COMMAND_SIGNING_KEY = 'ccs-command-signing';
export const SIGNATURE_ALGORITHM = 'ES256';
/** Matches the command queue's message TTL (shared/adapters/queue-command-bus.ts). */
export const COMMAND_LIFETIME_SECONDS = 24 * 60 * 60;
export const CLOCK_SKEW_SECONDS = 5 * 60;
/** How long the API signs with one key version before looking for a newer one. */
export const KEY_CACHE_MS = 10 * 60 * 1000;
const DOMAIN = 'ccs-command-v2\n';

/**
 * The key the API signs commands with (adapter: shared/adapters/keyvault-command-key.ts, on the
 * Key Vault CryptographyClient). Implementations never hold the private key.
 */
export interface CommandSigningKey {
  /** Signs a SHA-256 digest with the current key version: ES256 `r || s` and that version. */
  sign(digest: Buffer): Promise<{ kid: string; signature: Buffer }>;
  /** Resolves once a key version to sign with is known (optional). */
  ready?(): Promise<void>;
}

/** The public part of one version of the command-signing key, as an agent needs it to verify. */
export interface CommandPublicKey {
  version: string;
  enabled: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  keyOps: string[];
  /** Public JWK members, base64url. */
  jwk: { kty: string; crv?: string; x?: string; y?: string };
}

/** The message without its `sig` member: what the signature covers. */
export function signedPayload(message: Record<string, unknown>): Record<string, unknown> {
  const { sig: _sig, ...payload } = message;
  return payload;
}

/** The bytes an ES256 command signature is over. */
export function commandSigningInput(message: Record<string, unknown>): Buffer {
  return Buffer.from(DOMAIN + canonicalJson(signedPayload(message)), 'utf8');
}

export async function signCommand<T extends object>(
  command: T,
  key: CommandSigningKey,
): Promise<T & { sig: CommandSignature }> {
  const digest = createHash('sha256')
    .update(commandSigningInput(command as Record<string, unknown>))
    .digest();
  const { kid, signature } = await key.sign(digest);
  return { ...command, sig: { alg: SIGNATURE_ALGORITHM, kid, sig: signature.toString('base64url') } };
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; code: 'CommandUnsigned' | 'InvalidSignature' | 'CommandExpired'; detail: string };

/** The signature a raw (decoded, not yet schema-parsed) message carries, or why it has none. */
export function readSignature(
  raw: unknown,
): { sig: CommandSignature } | Extract<SignatureCheck, { ok: false }> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, code: 'InvalidSignature', detail: 'The message is not a JSON object' };
  }
  const sig = (raw as Record<string, unknown>).sig;
  if (sig === undefined)
    return { ok: false, code: 'CommandUnsigned', detail: 'The command is not signed by the API' };
  const parsed = CommandSignatureSchema.safeParse(sig);
  if (!parsed.success)
    return { ok: false, code: 'InvalidSignature', detail: 'The command signature is malformed' };
  return { sig: parsed.data };
}

/** Checks the ES256 signature with the public key of the version `sig.kid` names, then the lifetime. */
export function checkSignature(
  raw: Record<string, unknown>,
  sig: CommandSignature,
  publicKey: KeyObject,
  nowMs: number,
): SignatureCheck {
  let input: Buffer;
  try {
    input = commandSigningInput(raw);
  } catch {
    return { ok: false, code: 'InvalidSignature', detail: 'The command cannot be canonicalised' };
  }
  const signature = Buffer.from(sig.sig, 'base64url');
  if (!verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) {
    return { ok: false, code: 'InvalidSignature', detail: 'The command signature does not match' };
  }
  const issued = typeof raw.issuedAt === 'string' ? Date.parse(raw.issuedAt) : Number.NaN;
  if (Number.isNaN(issued))
    return { ok: false, code: 'InvalidSignature', detail: 'The command has no issue time' };
  if (nowMs - issued > COMMAND_LIFETIME_SECONDS * 1000) {
    return { ok: false, code: 'CommandExpired', detail: 'The command is older than its lifetime' };
  }
  if (issued - nowMs > CLOCK_SKEW_SECONDS * 1000) {
    return { ok: false, code: 'CommandExpired', detail: 'The command is issued in the future' };
  }
  return { ok: true };
}

/** The API side: signs every command with the Key Vault key. */
export class CommandSigner {
  constructor(private readonly key: CommandSigningKey) {}

  sign<T extends AgentCommand>(command: T): Promise<T & { sig: CommandSignature }> {
    return signCommand(command, this.key);
  }

  /** Resolves once commands can be signed (a key version is known); rejects when not. */
  async ready(): Promise<void> {
    await this.key.ready?.();
  }
}

/** A CommandBus that signs every command it sends. */
export class SigningCommandBus implements CommandBus {
  constructor(
    private readonly inner: CommandBus,
    private readonly signer: CommandSigner,
  ) {}

  ensureHostQueue(ccsId: string, host: string): Promise<void> {
    return this.inner.ensureHostQueue(ccsId, host);
  }

  async send(command: AgentCommand): Promise<void> {
    await this.inner.send(await this.signer.sign(command));
  }

  /** Resolves once a command could be signed (the key is at hand): call before recording work. */
  async ready(): Promise<void> {
    await this.signer.ready();
  }
}
