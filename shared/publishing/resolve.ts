/**
 * Sources → Key Vault certificates at their current versions. One listing of the vault (names,
 * thumbprints, tags: Key Vault's `GET /certificates`, 25 a page) says which certificates a ccs-id's
 * names and tag selector mean and whether each one changed since the last look; only a changed
 * one is read again (`GET /certificates/{name}`, for its version and content type). So a poll of
 * 1,000 unchanged sources costs 40 list pages, not 1,000 reads.
 */
import type { CatalogCertificate, CatalogEntry } from '../ports.js';
import { MAX_SOURCES, type ResolveProblem, type ResolvedSource, type SourcesRecord } from './model.js';
import { agentsCanRead, notReadableDetail, type AgentAccess } from './source-access.js';

export const PEM_CONTENT_TYPE = 'application/x-pem-file';

export const formatOf = (contentType: string | null): 'pfx' | 'pem' =>
  contentType === PEM_CONTENT_TYPE ? 'pem' : 'pfx';

interface Candidate {
  name: string;
  overwrite: boolean;
  via: 'name' | 'tag';
  entry: CatalogEntry | undefined;
}

/** The certificates `spec` names, then those its tag selector matches (by name), at most MAX_SOURCES. */
export function candidatesOf(
  spec: Pick<SourcesRecord, 'certificates' | 'tagSelector'>,
  listing: readonly CatalogEntry[],
): { candidates: Candidate[]; total: number } {
  const byName = new Map(listing.map((e) => [e.name.toLowerCase(), e]));
  const named = new Set(spec.certificates.map((c) => c.name.toLowerCase()));
  const candidates: Candidate[] = spec.certificates.map((c) => ({
    name: byName.get(c.name.toLowerCase())?.name ?? c.name,
    overwrite: c.overwrite,
    via: 'name',
    entry: byName.get(c.name.toLowerCase()),
  }));
  const selector = spec.tagSelector;
  if (selector) {
    const tagged = listing
      .filter((e) => !named.has(e.name.toLowerCase()) && e.tags[selector.name] === selector.value)
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of tagged) {
      candidates.push({ name: entry.name, overwrite: selector.overwrite, via: 'tag', entry });
    }
  }
  return { candidates: candidates.slice(0, MAX_SOURCES), total: candidates.length };
}

export interface Resolution {
  resolved: ResolvedSource[];
  /** The certificates read this time (the changed ones), by lower-case name. */
  fetched: Map<string, CatalogCertificate>;
  /** How many sources the names and selector meant (more than MAX_SOURCES: the rest were left out). */
  total: number;
}

/**
 * Resolve `spec` against `listing`: an unchanged source (same thumbprint as `previous`) keeps its
 * version without a read; a changed or new one is read with `get` (`limit` at a time).
 */
export async function resolveSources(
  spec: Pick<SourcesRecord, 'certificates' | 'tagSelector'>,
  listing: readonly CatalogEntry[],
  previous: readonly ResolvedSource[],
  get: (name: string) => Promise<CatalogCertificate | null>,
  each: <T>(items: T[], work: (item: T) => Promise<void>) => Promise<void>,
  /** Whose agents publish: a certificate they may not read (source-access.ts) is a problem, not read. */
  access: { ccsId: string; mode: AgentAccess } = { ccsId: '', mode: 'fleet-wide' },
): Promise<Resolution> {
  const { candidates, total } = candidatesOf(spec, listing);
  const before = new Map(previous.map((p) => [p.name.toLowerCase(), p]));
  const fetched = new Map<string, CatalogCertificate>();
  const resolved = new Map<string, ResolvedSource>();
  const base = (c: Candidate) => ({ name: c.name, overwrite: c.overwrite, via: c.via });
  const missing = (c: Candidate, code: ResolveProblem['code'], detail?: string): ResolvedSource => ({
    ...base(c),
    version: '',
    thumbprint: '',
    format: 'pfx',
    problem: {
      code,
      detail:
        detail ??
        (code === 'not_found'
          ? `Key Vault has no certificate named ${c.name}`
          : `The certificate ${c.name} is disabled in Key Vault`),
    },
  });
  await each(candidates, async (c) => {
    const key = c.name.toLowerCase();
    if (!c.entry) return void resolved.set(key, missing(c, 'not_found'));
    if (!c.entry.enabled) return void resolved.set(key, missing(c, 'disabled'));
    if (!agentsCanRead(access.mode, access.ccsId, c.entry.name)) {
      return void resolved.set(
        key,
        missing(c, 'not_readable', notReadableDetail(access.ccsId, c.entry.name)),
      );
    }
    const known = before.get(key);
    if (
      known &&
      known.problem === null &&
      c.entry.thumbprint !== null &&
      known.thumbprint === c.entry.thumbprint
    ) {
      return void resolved.set(key, { ...known, ...base(c) });
    }
    const current = await get(c.name);
    if (!current) return void resolved.set(key, missing(c, 'not_found'));
    if (!current.enabled) return void resolved.set(key, missing(c, 'disabled'));
    fetched.set(key, current);
    resolved.set(key, {
      ...base(c),
      name: current.name,
      version: current.version,
      thumbprint: current.thumbprint,
      format: formatOf(current.contentType),
      problem: null,
    });
  });
  return {
    resolved: candidates.flatMap((c) => resolved.get(c.name.toLowerCase()) ?? []),
    fetched,
    total,
  };
}
