/**
 * The agent's check that a command comes from the API (shared/signing.ts): the public part of the
 * key version the signature names is read from Key Vault (Key Vault Reader on the key: this agent
 * cannot sign) once per version and cached, then the ES256 signature and the lifetime are checked
 * here. The agent never trusts a key the command carries: the vault and key name are its own
 * configuration, only the version comes from the command.
 *
 * A command that fails the check is refused for good (poisoned, reported as a host-level error):
 * unsigned, malformed or HMAC-era signatures, a signature that does not match, a key version Key
 * Vault does not have or has disabled, a key that is not an EC P-256 signing key, expired. A key
 * that cannot be fetched right now (Key Vault throttling or down) is not the command's fault: it
 * is left for redelivery. An agent not allowed to read the key (403) refuses with
 * `SigningKeyForbidden`, which names the missing role.
 *
 * Cache: a version's public key is kept PUBLIC_KEY_TTL_MS, so a version disabled in Key Vault is
 * refused by every agent within that time; answers that a version does not exist are kept too, so
 * a queue writer naming made-up versions costs one Key Vault read per version, not per message.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { checkSignature, readSignature, type CommandPublicKey } from '../shared/signing.js';

export type SignatureVerdict =
  | { ok: true }
  | { ok: false; permanent: true; code: string; detail: string }
  | { ok: false; permanent: false; detail: string };

type Refusal = Extract<SignatureVerdict, { permanent: true }>;

/** Where the public part of a version of the command-signing key comes from (Key Vault). */
export interface CommandPublicKeySource {
  get(version: string): Promise<CommandPublicKey>;
}

/** How long a version's public key (or its refusal) is trusted before Key Vault is asked again. */
export const PUBLIC_KEY_TTL_MS = 60 * 60 * 1000;
const MAX_CACHED_VERSIONS = 16;
/** Key Vault versions are 32 hex digits: anything else is refused without a Key Vault read. */
const VERSION = /^[0-9a-f]{32}$/i;

const refuse = (code: string, detail: string): Refusal => ({ ok: false, permanent: true, code, detail });

interface Usable {
  key: KeyObject;
  notBefore?: number;
  expiresOn?: number;
}

/** A fetched version as a verification key, or why it cannot be one. */
function usableKey(found: CommandPublicKey): Usable | Refusal {
  if (!found.enabled) return refuse('InvalidSignature', 'The command names a disabled signing key version');
  const { kty, crv, x, y } = found.jwk;
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y || !found.keyOps.includes('sign')) {
    return refuse('InvalidSignature', 'The command names a key that is not an EC P-256 signing key');
  }
  return {
    key: createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' }),
    ...(found.notBefore && { notBefore: found.notBefore.getTime() }),
    ...(found.expiresOn && { expiresOn: found.expiresOn.getTime() }),
  };
}

export class CommandVerifier {
  private readonly cache = new Map<string, { entry: Usable | Refusal; at: number }>();

  constructor(
    private readonly keys: CommandPublicKeySource,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(raw: unknown): Promise<SignatureVerdict> {
    const found = readSignature(raw);
    if ('ok' in found) return refuse(found.code, found.detail);
    if (!VERSION.test(found.sig.kid)) {
      return refuse('InvalidSignature', 'The command names no valid signing key version');
    }
    const entry = await this.publicKey(found.sig.kid);
    if ('ok' in entry) return entry;
    const check = checkSignature(raw as Record<string, unknown>, found.sig, entry.key, this.now());
    if (!check.ok) return refuse(check.code, check.detail);
    // Within the version's validity: the issue time is signed, so it can be trusted now.
    const issued = Date.parse(String((raw as Record<string, unknown>).issuedAt));
    if (
      (entry.notBefore !== undefined && issued < entry.notBefore) ||
      (entry.expiresOn !== undefined && issued >= entry.expiresOn)
    ) {
      return refuse('InvalidSignature', 'The command was issued outside its signing key version’s validity');
    }
    return { ok: true };
  }

  private async publicKey(
    version: string,
  ): Promise<Usable | Refusal | Extract<SignatureVerdict, { permanent: false }>> {
    const key = version.toLowerCase();
    const cached = this.cache.get(key);
    if (cached && this.now() - cached.at < PUBLIC_KEY_TTL_MS) return cached.entry;
    let entry: Usable | Refusal;
    try {
      entry = usableKey(await this.keys.get(version));
    } catch (error) {
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      if (status === 403) {
        return refuse(
          'SigningKeyForbidden',
          'This agent may not read the command-signing key: assign its identity Key Vault Reader on the key',
        );
      }
      if (status !== 400 && status !== 404) {
        return { ok: false, permanent: false, detail: 'The signing key could not be fetched from Key Vault' };
      }
      entry = refuse('InvalidSignature', 'The command names an unknown signing key version');
    }
    this.cache.delete(key);
    this.cache.set(key, { entry, at: this.now() });
    while (this.cache.size > MAX_CACHED_VERSIONS) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return entry;
  }
}
