/**
 * Identity abuse (issue 17): every identity a write-role caller sets is tried, as a network logon,
 * by every host of the ccs-id during preflight. Unchecked, one caller could make 1,000 hosts try
 * arbitrary accounts — or one account with wrong passwords, over and over — and lock accounts out
 * in Active Directory. Two limits:
 * - an allow-list of share identities per ccs-id (`CCS_SHARE_IDENTITIES`): a username outside it
 *   is refused (403, `identity.username`) before anything is stored or sent;
 * - a rate limit on identity changes per ccs-id (`CCS_IDENTITY_CHANGES_PER_HOUR`, a sliding hour
 *   shared by every API instance): a change of the username or the password beyond it is refused
 *   (429, with `Retry-After`). Every attempt counts, also one the hosts then refuse: a refused
 *   logon is exactly what lock-out counts.
 */
import { DomainError, RateLimited } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock, RateLimitRepository } from '../ports.js';

const WINDOW_MS = 3600_000;
const SCOPE = 'identity-change';
/** Conditional-write retries when API instances count at the same moment. */
const ATTEMPTS = 5;

/** Allowed share identities: per ccs-id, and `*` for every ccs-id not listed. Empty: any. */
export type ShareIdentityAllowList = Record<string, string[]>;

export class IdentityPolicy {
  constructor(
    private readonly windows: RateLimitRepository,
    private readonly clock: Clock,
    private readonly options: { allowList: () => ShareIdentityAllowList; changesPerHour: number },
    private readonly log: Logger,
  ) {}

  /** Throws 403 `IdentityNotAllowed` unless the username is allowed for this ccs-id. */
  checkAllowed(ccsId: string, username: string): void {
    const list = this.options.allowList();
    const allowed = list[ccsId] ?? list['*'];
    if (!allowed) return;
    const wanted = username.trim().toLowerCase();
    if (allowed.some((name) => name.trim().toLowerCase() === wanted)) return;
    this.log.warn('share identity refused: not on the allow-list', { ccsId });
    throw new DomainError(
      'forbidden',
      'IdentityNotAllowed',
      'This identity is not on the allow-list of share identities for this ccs-id (CCS_SHARE_IDENTITIES)',
      'identity.username',
    );
  }

  /** Counts one identity change of a ccs-id, or throws 429 when the hour's budget is spent. */
  async spend(ccsId: string): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = this.clock.now().getTime();
      const found = await this.windows.get(SCOPE, ccsId);
      const recent = (found?.record.events ?? []).filter((at) => Date.parse(at) > now - WINDOW_MS);
      if (recent.length >= this.options.changesPerHour) {
        const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(recent[0]!) + WINDOW_MS - now) / 1000));
        this.log.warn('identity change refused: rate limit', { ccsId, retryAfterSeconds });
        throw new RateLimited(
          `At most ${this.options.changesPerHour} identity changes per hour for one ccs-id; retry in ${retryAfterSeconds} s`,
          'identity',
          retryAfterSeconds,
          'IdentityChangeRateLimited',
        );
      }
      const window = { scope: SCOPE, key: ccsId, events: [...recent, new Date(now).toISOString()] };
      if ((await this.windows.save(window, found?.etag ?? null)) !== null) return;
    }
    // Other instances kept winning: as many changes arrive at once as the limit is meant to stop.
    throw new RateLimited(
      'Too many concurrent identity changes for this ccs-id; retry',
      'identity',
      1,
      'IdentityChangeRateLimited',
    );
  }
}
