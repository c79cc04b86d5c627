/**
 * Key Vault's documented service limits, enforced by the local endpoint when asked to.
 *
 * Source: "Azure Key Vault service limits" (learn.microsoft.com/azure/key-vault/general/
 * service-limits) and "Azure Key Vault throttling guidance" (…/general/overview-throttling):
 * - limits are "maximum transactions allowed in 10 seconds, per vault per region";
 * - secrets: CREATE secret 300, all other transactions 4,000;
 * - software keys (our command-signing key is an ECC P-256 software key): CREATE key 20,
 *   all other transactions 4,000;
 * - a request over a limit gets 429 (Too many requests), and "failed requests that return a 429
 *   do not count towards the throttle limits".
 * Certificates have no row of their own: importing or creating one writes a secret (the PFX), so
 * those count as secret creates here and their reads as secret transactions — the harsher reading.
 * The window slides (each accepted request expires 10 s after it was counted); `Retry-After`
 * says, in whole seconds rounded up, when the oldest counted request leaves the window.
 */

/** The 10-second budgets a vault is held to. */
export interface VaultLimits {
  secretCreate: number;
  secretOther: number;
  keyCreate: number;
  keyOther: number;
}

/** The documented per-vault limits (software keys). */
export const DOCUMENTED_VAULT_LIMITS: VaultLimits = {
  secretCreate: 300,
  secretOther: 4000,
  keyCreate: 20,
  keyOther: 4000,
};

export const THROTTLE_WINDOW_MS = 10_000;

export interface ThrottleOptions {
  /**
   * Multiplies every documented limit (at least 1 request each): a benchmark of 1,000 hosts
   * that stands for a tenth of a 10,000-host fleet sharing one vault runs with 0.1.
   */
  scale?: number;
  /** Explicit budgets, overriding the documented ones (tests use tiny ones). */
  limits?: Partial<VaultLimits>;
  /**
   * The window's length (Key Vault's is 10 s). A smoke test shortens it together with the
   * limits, keeping the documented rate while waiting a second instead of ten.
   */
  windowMs?: number;
  /** Milliseconds since an epoch; a harness clock in unit tests. */
  now?: () => number;
}

type Bucket = keyof VaultLimits;

const SECRET_CREATES = new Set(['setSecret', 'importCertificate', 'createCertificate']);

/** Which budgets an operation spends: a create also counts among "all" of its kind. */
export function bucketsOf(operation: string): Bucket[] {
  if (operation === 'createKey') return ['keyCreate', 'keyOther'];
  if (/Key(s|Versions)?$/.test(operation) || operation === 'sign' || operation === 'verify')
    return ['keyOther'];
  if (SECRET_CREATES.has(operation)) return ['secretCreate', 'secretOther'];
  return ['secretOther'];
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class VaultThrottle {
  private readonly limits: VaultLimits;
  private readonly now: () => number;
  private readonly windowMs: number;
  /** Per bucket, the times of the requests counted in the current window, oldest first. */
  private readonly windows = new Map<Bucket, number[]>();
  private throttledCount = 0;

  constructor(options: ThrottleOptions = {}) {
    const scale = options.scale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new Error('throttle scale must be a positive number');
    const scaled = (n: number) => Math.max(1, Math.floor(n * scale));
    this.limits = {
      secretCreate: options.limits?.secretCreate ?? scaled(DOCUMENTED_VAULT_LIMITS.secretCreate),
      secretOther: options.limits?.secretOther ?? scaled(DOCUMENTED_VAULT_LIMITS.secretOther),
      keyCreate: options.limits?.keyCreate ?? scaled(DOCUMENTED_VAULT_LIMITS.keyCreate),
      keyOther: options.limits?.keyOther ?? scaled(DOCUMENTED_VAULT_LIMITS.keyOther),
    };
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? THROTTLE_WINDOW_MS;
    if (!(this.windowMs > 0)) throw new Error('throttle windowMs must be positive');
  }

  /** Counts the request when it fits every budget it spends; a refused one counts nowhere. */
  admit(operation: string): ThrottleVerdict {
    const now = this.now();
    const buckets = bucketsOf(operation);
    let waitMs = 0;
    for (const bucket of buckets) {
      const window = this.expire(bucket, now);
      if (window.length >= this.limits[bucket]) {
        const oldest = window[window.length - this.limits[bucket]] ?? now;
        waitMs = Math.max(waitMs, oldest + this.windowMs - now);
      }
    }
    if (waitMs > 0) {
      this.throttledCount++;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    for (const bucket of buckets) this.expire(bucket, now).push(now);
    return { allowed: true };
  }

  /** Requests refused with 429 since the vault started. */
  get throttled(): number {
    return this.throttledCount;
  }

  get effectiveLimits(): Readonly<VaultLimits> {
    return this.limits;
  }

  private expire(bucket: Bucket, now: number): number[] {
    let window = this.windows.get(bucket);
    if (!window) this.windows.set(bucket, (window = []));
    let drop = 0;
    while (drop < window.length && (window[drop] ?? 0) + this.windowMs <= now) drop++;
    if (drop > 0) window.splice(0, drop);
    return window;
  }
}
