/**
 * Secrets on the host: fetched from Key Vault by exact reference ({ name, version }) through
 * the SecretStore port and cached in memory only, keyed by that reference — a version never
 * changes, so a cached value is never stale, and a rotation is simply a new key. Nothing here
 * writes a value anywhere; `redact` lets the logger blank any value that slipped into a line.
 */
import type { SecretRef } from '../shared/messages.js';
import type { SecretStore } from '../shared/ports.js';
import { patientlyThrottled } from '../shared/adapters/retry-after-jitter.js';

/**
 * How long a read keeps trying while Key Vault answers 429 after the SDK's retries: a fleet's
 * preflight reads one secret per host at once, more than a vault's budget serves in the SDK's
 * three tries; failing the preflight for that would fail the whole change.
 */
export const THROTTLED_READ_PATIENCE_MS = 60_000;

/** Thrown when Key Vault does not give us the referenced version. Carries no secret value. */
export class SecretUnavailableError extends Error {
  constructor(
    readonly ref: SecretRef,
    readonly statusCode: number | undefined,
  ) {
    super(
      `Key Vault secret ${ref.name} version ${ref.version} could not be read${statusCode ? ` (HTTP ${statusCode})` : ''}`,
    );
    this.name = 'SecretUnavailableError';
  }
}

const keyOf = (ref: SecretRef): string => `${ref.name}\u0000${ref.version}`;

/** Values shorter than this are not redacted (blanking "a" everywhere would wreck the logs). */
const MIN_REDACT_LENGTH = 4;

export class SecretCache {
  private readonly values = new Map<string, string>();

  /** A handful of entries is plenty: one identity and one private-key password per generation. */
  constructor(
    private readonly store: SecretStore,
    private readonly maxEntries = 16,
    private readonly patienceMs = THROTTLED_READ_PATIENCE_MS,
  ) {}

  async get(ref: SecretRef): Promise<string> {
    const key = keyOf(ref);
    const cached = this.values.get(key);
    if (cached !== undefined) {
      // Refresh recency so the versions in use outlive older ones.
      this.values.delete(key);
      this.values.set(key, cached);
      return cached;
    }
    let value: string;
    try {
      value = await patientlyThrottled(() => this.store.getSecret(ref), this.patienceMs);
    } catch (error) {
      const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
      throw new SecretUnavailableError(ref, typeof status === 'number' ? status : undefined);
    }
    this.values.set(key, value);
    while (this.values.size > this.maxEntries) {
      const oldest = this.values.keys().next().value;
      if (oldest === undefined) break;
      this.values.delete(oldest);
    }
    return value;
  }

  get size(): number {
    return this.values.size;
  }

  /** Replace every cached secret value (raw or JSON-escaped) in `text` with a marker. */
  redact = (text: string): string => {
    let out = text;
    for (const value of this.values.values()) {
      if (value.length < MIN_REDACT_LENGTH) continue;
      for (const form of new Set([value, JSON.stringify(value).slice(1, -1)])) {
        out = out.split(form).join('[redacted]');
      }
    }
    return out;
  };
}
