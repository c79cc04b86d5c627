/**
 * One ccs-id: its desired state (or "not enabled"), the write actions for callers who may write,
 * and its hosts, certificates and — when the API has the route — coverage.
 */
import { useState } from 'preact/hooks';
import { apiError } from '../../../client/errors.js';
import { COVERAGE_PATH, documentedPaths } from '../../../client/features.js';
import type { CcsState } from './ccs-state.js';
import { useLoad } from '../load.js';
import { hrefOf, type Tab } from '../route.js';
import type { Session } from '../session.js';
import { CertificatesTab } from './certificates.js';
import { ChangeDialog, type ChangeKind } from './change-dialog.js';
import { CoverageTab } from './coverage.js';
import { ErrorMessage } from './error-message.js';
import { HostsTab } from './hosts.js';
import { StatusBadge } from './status.js';

export function CcsView(props: { session: Session; id: string; tab: Tab }) {
  const { client, caller } = props.session;
  const [change, setChange] = useState<ChangeKind | null>(null);
  const state = useLoad<CcsState>(
    async (signal) => {
      const path = { params: { path: { ccsId: props.id } }, signal };
      const [resource, hosts] = await Promise.all([
        client.GET('/api/webserver/centralized-certificates/{ccsId}', path),
        client.GET('/api/webserver/centralized-certificates/{ccsId}/hosts', path),
      ]);
      if (!resource.response.ok && resource.response.status !== 404)
        throw apiError(resource.response, resource.error);
      if (!hosts.response.ok || !hosts.data) throw apiError(hosts.response, hosts.error);
      return {
        resource: resource.data ?? null,
        etag: resource.response.headers.get('ETag'),
        hosts: hosts.data,
      };
    },
    [client, props.id],
    5000,
  );
  const features = useLoad((_signal) => documentedPaths(client), [client]);
  const hasCoverage = features.data?.has(COVERAGE_PATH) ?? false;
  const resource = state.data?.resource ?? null;
  const hostCount = state.data?.hosts.hosts.length ?? 0;

  return (
    <section aria-labelledby="ccs-title">
      <p class="crumbs">
        <a href={hrefOf.fleet()}>Fleet</a> › {props.id}
      </p>
      <h1 id="ccs-title" tabIndex={-1}>
        ccs-id {props.id}
      </h1>
      {state.error !== undefined && <ErrorMessage error={state.error} />}
      {state.data === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <dl class="summary">
            <div>
              <dt>Status</dt>
              <dd>
                {resource ? <StatusBadge status={resource.status} /> : <span class="muted">not enabled</span>}
              </dd>
            </div>
            <div>
              <dt>Share</dt>
              <dd>{resource?.path ?? '—'}</dd>
            </div>
            <div>
              <dt>Identity</dt>
              <dd>{resource?.identity.username ?? '—'}</dd>
            </div>
            <div>
              <dt>Generation</dt>
              <dd>{resource?.generation ?? '—'}</dd>
            </div>
            <div>
              <dt>Hosts</dt>
              <dd>{resource ? `${resource.hosts.applied} of ${resource.hosts.total} applied` : hostCount}</dd>
            </div>
            {resource?._links.last_operation && (
              <div>
                <dt>Last change</dt>
                <dd>
                  <a href={hrefOf.operation(resource._links.last_operation.href.split('/').pop() ?? '')}>
                    its operation
                  </a>
                </dd>
              </div>
            )}
          </dl>
          {caller.can_write && (
            <div class="actions" role="group" aria-label="Changes">
              {resource ? (
                <>
                  <button type="button" onClick={() => setChange('update')}>
                    Update…
                  </button>
                  <button type="button" class="danger" onClick={() => setChange('disable')}>
                    Disable…
                  </button>
                </>
              ) : (
                <button type="button" onClick={() => setChange('enable')}>
                  Enable…
                </button>
              )}
            </div>
          )}
          <nav class="tabs" aria-label={`Views of ${props.id}`}>
            {(['hosts', 'certificates', ...(hasCoverage ? ['coverage'] : [])] as Tab[]).map((tab) => (
              <a
                key={tab}
                href={hrefOf.ccs(props.id, tab)}
                aria-current={props.tab === tab ? 'page' : undefined}
              >
                {tab === 'hosts'
                  ? `Hosts (${hostCount})`
                  : tab === 'certificates'
                    ? 'Certificates'
                    : 'Coverage'}
              </a>
            ))}
          </nav>
          {props.tab === 'certificates' ? (
            <CertificatesTab session={props.session} ccsId={props.id} />
          ) : props.tab === 'coverage' && hasCoverage ? (
            <CoverageTab
              session={props.session}
              ccsId={props.id}
              hosts={state.data.hosts.hosts.map((h) => h.name)}
            />
          ) : (
            <HostsTab hosts={state.data.hosts} />
          )}
        </>
      )}
      {change && state.data && (
        <ChangeDialog
          session={props.session}
          kind={change}
          ccsId={props.id}
          state={state.data}
          onClose={() => {
            setChange(null);
            state.reload();
          }}
        />
      )}
    </section>
  );
}
