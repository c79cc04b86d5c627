/**
 * The registered keys report verification used lately, per API process (issue 18): a report
 * whose host's key is at hand is verified without reading the enrolment table. What revocation
 * (a key replaced by a code or an approval: the only way a registered key changes) keeps true:
 *
 * - this process forgets a host's key whenever it writes that host's key record
 *   (enrolment-service.ts), so a replaced key is refused here at once;
 * - a report that does not verify under the cached key, or a hello presenting another key, is
 *   never refused on the cache's word: the record is read again (report-trust.ts), so a host's
 *   new key works everywhere at once and its first report refreshes every process it reaches;
 * - another API instance that cached the old key accepts it for at most KEY_CACHE_TTL_MS after
 *   it last read it, or until the host's new key reaches it, whichever comes first.
 */
import type { HostPublicKey } from '../messages.js';
import { BoundedMap } from '../bounded-map.js';

/** How long a key read from the enrolment table is trusted without reading it again. */
export const KEY_CACHE_TTL_MS = 10 * 60_000;
/** Hosts remembered at most (the oldest is forgotten first): about 1 KB each. */
const MAX_KEYS = 20_000;

export interface CachedKey {
  key: HostPublicKey;
  thumbprint: string;
}

export class HostKeyCache {
  private readonly keys = new BoundedMap<string, CachedKey & { until: number }>(MAX_KEYS);

  constructor(private readonly now: () => number) {}

  get(ccsId: string, host: string): CachedKey | null {
    const name = keyOf(ccsId, host);
    const found = this.keys.get(name);
    if (!found) return null;
    if (found.until > this.now()) return found;
    this.keys.delete(name);
    return null;
  }

  remember(ccsId: string, host: string, key: CachedKey | null): void {
    const name = keyOf(ccsId, host);
    this.keys.delete(name);
    if (!key) return;
    this.keys.set(name, { ...key, until: this.now() + KEY_CACHE_TTL_MS });
  }

  forget(ccsId: string, host: string): void {
    this.keys.delete(keyOf(ccsId, host));
  }
}

const keyOf = (ccsId: string, host: string): string => `${ccsId}/${host.toLowerCase()}`;
