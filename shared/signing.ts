/**
 * Commands signed by the API, verified by agents before anything is applied: a principal that
 * can write to a host's queue — but cannot read the signing key — cannot redirect a fleet to
 * another share, change its identity, or replay a command to another host.
 *
 * - Key: the Key Vault secret `ccs-command-signing-key` (≥ 32 characters; we create 32 random
 *   bytes, base64url), created by the API on first use and read by agents by its version (the
 *   signature's `kid`), cached by both. Rotating it is adding a version: the API picks the newest
 *   within KEY_CACHE_MS, agents fetch whatever version a command names.
 * - MAC: HMAC-SHA256 over `ccs-command-v1\n` + the canonical JSON (keys sorted, no whitespace) of
 *   the whole message minus `sig` — every field, including ones a given agent does not know.
 * - Lifetime: a signed command is refused after COMMAND_LIFETIME_SECONDS (the queue's own TTL)
 *   or when issued more than CLOCK_SKEW_SECONDS in the future, so an old signed command cannot
 *   be replayed later (generations already make a replay on the same host harmless).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  CommandSignatureSchema,
  type AgentCommand,
  type CommandSignature,
  type SecretRef,
} from './messages.js';
import type { CommandBus, SecretStore } from './ports.js';

export const SIGNING_KEY_SECRET = 'ccs-command-signing-key';
export const SIGNATURE_ALGORITHM = 'HMAC-SHA256';
/** Matches the command queue's message TTL (shared/adapters/queue-command-bus.ts). */
export const COMMAND_LIFETIME_SECONDS = 24 * 60 * 60;
export const CLOCK_SKEW_SECONDS = 5 * 60;
export const MIN_KEY_LENGTH = 32;
/** How long the API uses one key version before looking for a newer one. */
export const KEY_CACHE_MS = 10 * 60 * 1000;
const DOMAIN = 'ccs-command-v1\n';

export interface SigningKey {
  /** The Key Vault secret version: the signature's `kid`. */
  version: string;
  key: Buffer;
}

/** The key bytes of a secret value, or null when the value is too short to be a key. */
export function keyBytes(value: string): Buffer | null {
  return value.length >= MIN_KEY_LENGTH ? Buffer.from(value, 'utf8') : null;
}

/** A piece of punctuation on the work stack (never confused with a string value). */
class Raw {
  constructor(readonly text: string) {}
}

/**
 * Canonical JSON: object keys sorted (by UTF-16 code unit), no whitespace, `undefined` members
 * dropped, non-finite numbers refused. Iterative, so hostile nesting cannot exhaust the stack.
 */
export function canonicalJson(value: unknown): string {
  let out = '';
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Raw) {
      out += item.text;
      continue;
    }
    if (item === null || typeof item === 'boolean' || typeof item === 'string') {
      out += JSON.stringify(item);
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) throw new TypeError('canonical JSON has no non-finite numbers');
      out += JSON.stringify(item);
    } else if (Array.isArray(item)) {
      const parts: unknown[] = [new Raw('[')];
      item.forEach((element, i) => {
        if (i > 0) parts.push(new Raw(','));
        parts.push(element === undefined ? null : element);
      });
      parts.push(new Raw(']'));
      for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
    } else if (typeof item === 'object') {
      const record = item as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      const parts: unknown[] = [new Raw('{')];
      keys.forEach((k, i) => {
        parts.push(new Raw(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`), record[k]);
      });
      parts.push(new Raw('}'));
      for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
    } else {
      throw new TypeError(`canonical JSON cannot hold a ${typeof item}`);
    }
  }
  return out;
}

function mac(payload: Record<string, unknown>, key: Buffer): string {
  return createHmac('sha256', key).update(DOMAIN).update(canonicalJson(payload)).digest('base64url');
}

/** The message without its `sig` member: what the MAC covers. */
export function signedPayload(message: Record<string, unknown>): Record<string, unknown> {
  const { sig: _sig, ...payload } = message;
  return payload;
}

export function signCommand<T extends object>(command: T, key: SigningKey): T & { sig: CommandSignature } {
  const payload = signedPayload(command as Record<string, unknown>);
  return { ...command, sig: { alg: SIGNATURE_ALGORITHM, kid: key.version, mac: mac(payload, key.key) } };
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

/** Checks the MAC (constant time) and the command's lifetime. */
export function checkSignature(
  raw: Record<string, unknown>,
  sig: CommandSignature,
  key: Buffer,
  nowMs: number,
): SignatureCheck {
  let expected: Buffer;
  try {
    expected = Buffer.from(mac(signedPayload(raw), key), 'base64url');
  } catch {
    return { ok: false, code: 'InvalidSignature', detail: 'The command cannot be canonicalised' };
  }
  const presented = Buffer.from(sig.mac, 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
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

/** What the signer needs from Key Vault; `getLatestSecret` is optional (then one key per process). */
export type SigningKeyStore = Pick<SecretStore, 'setSecret'> & {
  getLatestSecret?(name: string): Promise<{ ref: SecretRef; value: string } | null>;
};

/** The API side: the current signing key, created in Key Vault on first use, cached. */
export class CommandSigner {
  private cached: { key: SigningKey; at: number } | undefined;
  private pending: Promise<SigningKey> | undefined;

  constructor(
    private readonly store: SigningKeyStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key to sign with (single-flight: concurrent callers share one Key Vault round trip). */
  key(): Promise<SigningKey> {
    if (this.cached && this.now() - this.cached.at < KEY_CACHE_MS) return Promise.resolve(this.cached.key);
    this.pending ??= this.load().finally(() => (this.pending = undefined));
    return this.pending;
  }

  async sign<T extends AgentCommand>(command: T): Promise<T & { sig: CommandSignature }> {
    return signCommand(command, await this.key());
  }

  private async load(): Promise<SigningKey> {
    const latest = this.store.getLatestSecret ? await this.store.getLatestSecret(SIGNING_KEY_SECRET) : null;
    const existing = latest ? keyBytes(latest.value) : null;
    let key: SigningKey;
    if (latest && existing) {
      key = { version: latest.ref.version, key: existing };
    } else {
      // First use (or an unusable value): a new random key, as a new version of the secret.
      const value = randomBytes(32).toString('base64url');
      const ref = await this.store.setSecret(SIGNING_KEY_SECRET, value);
      key = { version: ref.version, key: Buffer.from(value, 'utf8') };
    }
    this.cached = { key, at: this.now() };
    return key;
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
    await this.signer.key();
  }
}
