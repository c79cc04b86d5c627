/**
 * The sources of a ccs-id's share (`GET/PUT …/{ccs-id}/sources`): which Key Vault certificates the
 * publisher writes into the share, by name and/or by tag. A PUT is checked against Key Vault before
 * anything is saved — every named certificate exists, the names and the tag's matches are at most
 * 1,000, and no two sources claim the same host name (409, listing the files) — then saved, and
 * the share is published at once (publish-runs.ts).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { ConcurrencyError, DomainError, invalid } from '../errors.js';
import { eachLimited } from '../each-limited.js';
import type { Logger } from '../log.js';
import type { CcsRecord } from '../model.js';
import { assertCcsId } from '../names.js';
import type { CatalogCertificate, CertificateCatalog, Clock, Stores } from '../ports.js';
import { nameConflicts, type NameConflict } from '../publishing/conflicts.js';
import { fileNamesFor } from '../publishing/file-names.js';
import {
  MAX_SOURCES,
  type PublishedFileRecord,
  type PublishState,
  type ResolvedSource,
  type SourcesRecord,
} from '../publishing/model.js';
import { resolveSources } from '../publishing/resolve.js';
import { sourceNamePrefix, type AgentAccess } from '../publishing/source-access.js';
import type { SourcesBody } from '../publishing/sources-body.js';
import { notEnabled, type Caller } from './ccs-service.js';

/** Key Vault reads in flight at once while sources are checked. */
const READS_IN_FLIGHT = 16;

/** 409: two sources would write the same share file. */
export class NameConflictError extends DomainError {
  constructor(readonly conflicts: NameConflict[]) {
    const shown = conflicts
      .slice(0, 10)
      .map((c) => `${c.file} (${c.sources.join(', ')})`)
      .join('; ');
    const more = conflicts.length > 10 ? ` and ${conflicts.length - 10} more` : '';
    super(
      'conflict',
      'NameConflicts',
      `Sources claim the same host names, so they would write the same share files: ${shown}${more}`,
      'certificates',
    );
    this.name = 'NameConflictError';
  }
}

/** Everything `GET …/sources` shows. */
export interface SourcesSnapshot {
  ccs: CcsRecord;
  sources: SourcesRecord | null;
  etag: string | null;
  state: PublishState;
  files: PublishedFileRecord[];
}

/** Asks for a publish run now (publish-runs.ts). */
export interface RunTrigger {
  refresh(ccsId: string): Promise<void>;
}

export class SourcesService {
  constructor(
    private readonly stores: Pick<Stores, 'desired' | 'publishing'>,
    private readonly catalog: CertificateCatalog,
    private readonly runs: RunTrigger,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** How the deployment gives agents Key Vault (source-access.ts): per-ccs-id narrows the sources. */
    private readonly access: AgentAccess = 'fleet-wide',
  ) {}

  async get(ccsId: string): Promise<SourcesSnapshot> {
    const ccs = await this.enabled(assertCcsId(ccsId));
    const [sources, { state }, files] = await Promise.all([
      this.stores.publishing.getSources(ccsId),
      this.stores.publishing.getState(ccsId),
      this.stores.publishing.listFiles(ccsId),
    ]);
    return { ccs, sources: sources?.record ?? null, etag: sources?.etag ?? null, state, files };
  }

  /** The files the publisher wrote in these ccs-ids' shares, by ccs-id and lower-case file name. */
  async publishedFiles(ccsIds: readonly string[]): Promise<Map<string, Map<string, PublishedFileRecord>>> {
    const byCcs = new Map<string, Map<string, PublishedFileRecord>>();
    for (const ccsId of new Set(ccsIds)) {
      const files = await this.stores.publishing.listFiles(ccsId);
      byCcs.set(ccsId, new Map(files.map((f) => [f.file.toLowerCase(), f])));
    }
    return byCcs;
  }

  /** Replace the sources; `ifMatch`: the If-Match header (null: none, `*`: any existing). */
  async put(
    ccsId: string,
    body: SourcesBody,
    ifMatch: string | null,
    caller: Caller,
  ): Promise<SourcesSnapshot> {
    await this.enabled(assertCcsId(ccsId));
    const spec = {
      certificates: (body.certificates ?? []).map((c) => ({ name: c.name, overwrite: c.overwrite ?? false })),
      tagSelector: body.tag_selector
        ? {
            name: body.tag_selector.name,
            value: body.tag_selector.value,
            overwrite: body.tag_selector.overwrite ?? false,
          }
        : null,
    };
    const listing = await this.catalog.list();
    const resolution = await resolveSources(
      spec,
      listing,
      [],
      (name) => this.catalog.get(name),
      (items, work) => eachLimited(items, READS_IN_FLIGHT, work),
      { ccsId, mode: this.access },
    );
    if (resolution.total > MAX_SOURCES) {
      throw invalid(
        'tag_selector',
        `The certificates and the tag selector's matches are ${resolution.total} sources; at most ${MAX_SOURCES} are allowed`,
      );
    }
    resolution.resolved.forEach((r) => {
      if (r.via !== 'name' || r.problem?.code !== 'not_found') return;
      const index = spec.certificates.findIndex((c) => c.name.toLowerCase() === r.name.toLowerCase());
      throw invalid(`certificates.${index}.name`, `Key Vault has no certificate named ${r.name}`);
    });
    refuseUnreadable(ccsId, spec, resolution.resolved);
    const conflicts = nameConflicts(
      [...resolution.fetched.values()].map((c) => ({ source: c.name, files: filesOf(c) })),
    );
    if (conflicts.length > 0) throw new NameConflictError(conflicts);

    const existing = await this.stores.publishing.getSources(ccsId);
    if (!ifMatchAccepts(ifMatch, existing?.etag ?? null)) {
      throw new DomainError(
        'precondition',
        'PreconditionFailed',
        'The sources changed since they were read',
        'If-Match',
      );
    }
    const record: SourcesRecord = {
      ccsId,
      ...spec,
      updatedAt: this.clock.now().toISOString(),
      updatedBy: caller.id,
    };
    if ((await this.stores.publishing.saveSources(record, existing?.etag ?? null)) === null) {
      throw new ConcurrencyError();
    }
    await this.keepResolution(ccsId, resolution.resolved);
    this.log.info('publishing sources set', {
      ccsId,
      sources: resolution.resolved.length,
      byTag: spec.tagSelector !== null,
    });
    try {
      await this.runs.refresh(ccsId);
    } catch (error) {
      // Saved all the same: the timer asks for the run.
      this.log.warn('publish run not requested yet; the timer retries', {
        ccsId,
        error: error instanceof Error ? error.name : 'unknown',
      });
    }
    return this.get(ccsId);
  }

  /** The resolution just made is the freshest look at Key Vault: the scheduler starts from it. */
  private async keepResolution(ccsId: string, resolved: PublishState['resolved']): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { state, etag } = await this.stores.publishing.getState(ccsId);
      const next: PublishState = {
        ...state,
        resolved,
        resolvedAt: this.clock.now().toISOString(),
        catalogError: null,
        pollDue: false,
      };
      if ((await this.stores.publishing.saveState(next, etag)) !== null) return;
    }
    throw new ConcurrencyError();
  }

  private async enabled(ccsId: string): Promise<CcsRecord> {
    const current = await this.stores.desired.get(ccsId);
    if (!current?.record.desired.enabled) throw notEnabled();
    return current.record;
  }
}

/** The HTTP ETag of the sources: opaque, quoted, made from the store's own ETag (null: none yet). */
export function sourcesTag(storeEtag: string | null): string | null {
  return storeEtag === null
    ? null
    : `"s${createHash('sha256').update(storeEtag).digest('base64url').slice(0, 22)}"`;
}

/** RFC 9110 If-Match: absent or `*` accepts any; otherwise one of its tags must be the current one. */
function ifMatchAccepts(header: string | null, storeEtag: string | null): boolean {
  if (header === null) return true;
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (tags.includes('*')) return storeEtag !== null;
  const current = sourcesTag(storeEtag);
  return current !== null && tags.includes(current);
}

/** Per-ccs-id access: a source its agents may not read is a 400 naming it (nothing is saved). */
function refuseUnreadable(
  ccsId: string,
  spec: Pick<SourcesRecord, 'certificates'>,
  resolved: readonly ResolvedSource[],
): void {
  const refused = resolved.filter((r) => r.problem?.code === 'not_readable');
  const named = refused.find((r) => r.via === 'name');
  if (named) {
    const index = spec.certificates.findIndex((c) => c.name.toLowerCase() === named.name.toLowerCase());
    throw invalid(`certificates.${index}.name`, named.problem!.detail);
  }
  if (refused.length > 0) {
    const names = refused.slice(0, 10).map((r) => r.name);
    const more = refused.length > 10 ? ` and ${refused.length - 10} more` : '';
    throw invalid(
      'tag_selector',
      `The tag selector matches certificates the agents of ${ccsId} may not read: ${names.join(', ')}${more}; with per-ccs-id agent groups its sources must be named ${sourceNamePrefix(ccsId)}…`,
    );
  }
}

/** The share files a certificate needs (none when its certificate does not parse). */
function filesOf(certificate: CatalogCertificate): string[] {
  try {
    return fileNamesFor(new X509Certificate(certificate.der)).names.map((n) => n.file);
  } catch {
    return [];
  }
}
