/**
 * Key Vault's list paging: at most 25 items a page (`maxresults` 1-25), and a `nextLink` back to
 * the same list with a `$skiptoken`, as the secrets and certificates lists both page.
 */
import type { Reply, RequestContext } from './route-types.js';
import { VaultError } from './vault.js';

/** Azure's page size limit for secret lists. */
const MAX_PAGE = 25;

export const ok = (body: unknown): Reply => ({ status: 200, body });

/** One page of `items` plus a `nextLink` back to the same list, as Key Vault pages. */
export function page<T>(items: T[], ctx: RequestContext, path: string): Reply {
  const rawMax = ctx.query.get('maxresults');
  const max = rawMax === undefined ? MAX_PAGE : Number(rawMax);
  if (!Number.isInteger(max) || max < 1 || max > MAX_PAGE) {
    throw new VaultError(400, 'BadParameter', `maxresults must be an integer from 1 to ${MAX_PAGE}.`);
  }
  const rawSkip = ctx.query.get('$skiptoken') ?? '0';
  const skip = /^\d{1,9}$/.test(rawSkip) ? Number(rawSkip) : NaN;
  if (Number.isNaN(skip)) throw new VaultError(400, 'BadParameter', 'The $skiptoken is invalid.');
  const next = skip + max;
  const apiVersion = encodeURIComponent(ctx.query.get('api-version') ?? '');
  return ok({
    value: items.slice(skip, next),
    nextLink:
      next < items.length
        ? `${ctx.base}${path}?api-version=${apiVersion}&$skiptoken=${next}&maxresults=${max}`
        : null,
  });
}
