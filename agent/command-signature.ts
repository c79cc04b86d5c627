/**
 * The agent's check that a command comes from the API (shared/signing.ts): the signing key
 * version the signature names is fetched from Key Vault by reference and cached like any secret
 * (SecretCache: memory only, by version), the MAC and the lifetime are checked.
 *
 * A command that fails the check is refused for good (poisoned, with a report): unsigned, a
 * signature that does not match, a key version Key Vault does not have, expired. A key that
 * cannot be fetched right now (Key Vault throttling or down) is not the command's fault: it is
 * left for redelivery, and poisoned only after the usual five attempts.
 */
import {
  SIGNING_KEY_SECRET,
  checkSignature,
  keyBytes,
  readSignature,
  type SignatureCheck,
} from '../shared/signing.js';
import { SecretUnavailableError, type SecretCache } from './secrets.js';

export type SignatureVerdict =
  | { ok: true }
  | { ok: false; permanent: true; code: string; detail: string }
  | { ok: false; permanent: false; detail: string };

/** Statuses meaning "this key version does not exist, or may not be used": the signature is bad. */
const KEY_REFUSED = new Set([400, 403, 404]);

export class CommandVerifier {
  constructor(
    private readonly secrets: SecretCache,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(raw: unknown): Promise<SignatureVerdict> {
    const found = readSignature(raw);
    if ('ok' in found) return { ok: false, permanent: true, code: found.code, detail: found.detail };
    let value: string;
    try {
      value = await this.secrets.get({ name: SIGNING_KEY_SECRET, version: found.sig.kid });
    } catch (error) {
      if (
        error instanceof SecretUnavailableError &&
        error.statusCode !== undefined &&
        KEY_REFUSED.has(error.statusCode)
      ) {
        return {
          ok: false,
          permanent: true,
          code: 'InvalidSignature',
          detail: 'The command names an unknown signing key',
        };
      }
      return { ok: false, permanent: false, detail: 'The signing key could not be fetched from Key Vault' };
    }
    const key = keyBytes(value);
    if (!key)
      return { ok: false, permanent: true, code: 'InvalidSignature', detail: 'The signing key is unusable' };
    const check: SignatureCheck = checkSignature(raw as Record<string, unknown>, found.sig, key, this.now());
    return check.ok ? check : { ok: false, permanent: true, code: check.code, detail: check.detail };
  }
}
