/**
 * The console's places, in the URL's fragment (`#/ccs/default/certificates`): a reload or a shared
 * link opens the same view, and the server needs to know only one page. Never a credential.
 */
import { useEffect, useState } from 'preact/hooks';

export type Tab = 'hosts' | 'certificates' | 'coverage';

export type Route =
  { view: 'fleet' } | { view: 'ccs'; id: string; tab: Tab } | { view: 'operation'; id: string };

const TABS: readonly Tab[] = ['hosts', 'certificates', 'coverage'];

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'ccs' && parts[1]) {
    const tab = TABS.find((t) => t === parts[2]) ?? 'hosts';
    return { view: 'ccs', id: parts[1], tab };
  }
  if (parts[0] === 'operations' && parts[1]) return { view: 'operation', id: parts[1] };
  return { view: 'fleet' };
}

export const hrefOf = {
  fleet: () => '#/',
  ccs: (id: string, tab: Tab = 'hosts') =>
    `#/ccs/${encodeURIComponent(id)}${tab === 'hosts' ? '' : `/${tab}`}`,
  operation: (id: string) => `#/operations/${encodeURIComponent(id)}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
