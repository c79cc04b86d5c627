/**
 * The body of `GET …/{ccs-id}/sources`: the sources as set, what each resolved to in Key Vault at
 * the last look, and the publisher's last run. Names, versions and thumbprints only.
 */
import type { SourcesSnapshot } from '../../shared/services/publishing-sources.js';

export function sourcesView(snapshot: SourcesSnapshot) {
  const { ccs, sources, state, files } = snapshot;
  const filesOf = new Map<string, string[]>();
  for (const f of files)
    filesOf.set(f.source.toLowerCase(), [...(filesOf.get(f.source.toLowerCase()) ?? []), f.file]);
  const self = `/api/webserver/centralized-certificates/${ccs.ccsId}/sources`;
  return {
    ccs_id: ccs.ccsId,
    certificates: (sources?.certificates ?? []).map((c) => ({ name: c.name, overwrite: c.overwrite })),
    tag_selector: sources?.tagSelector ?? null,
    updated_at: sources?.updatedAt ?? null,
    updated_by: sources?.updatedBy ?? null,
    resolved: state.resolved.map((r) => ({
      name: r.name,
      via: r.via,
      version: r.version || null,
      thumbprint: r.thumbprint || null,
      format: r.format,
      problem: r.problem,
      files: (filesOf.get(r.name.toLowerCase()) ?? []).sort(),
    })),
    publisher: {
      host: state.host,
      run: state.seq,
      reported_run: state.reportedSeq,
      requested_at: state.requestedAt,
      reported_at: state.reportedAt,
      encryption: state.profile,
      files: files.length,
      counts: state.counts,
      last_error: state.lastError,
      key_vault_error: state.catalogError,
      refused: state.sourceErrors.map((e) => ({
        source: e.source,
        version: e.version,
        code: e.code,
        detail: e.detail,
        files: e.files ?? [],
      })),
      rotating: state.rotation !== null,
    },
    _links: {
      self: { href: self },
      resource: { href: `/api/webserver/centralized-certificates/${ccs.ccsId}` },
    },
  };
}
