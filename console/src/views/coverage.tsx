/**
 * Coverage (issue 13): bound host names × hosts — which host binds which name, and whether the
 * share has a usable file for it. Shown only when the API's document has the route (ccs.tsx).
 * The route is not in the typed client yet, so it is read with the session's client's fetch.
 */
import { apiError } from '../../../client/errors.js';
import { readCoverage, type Coverage } from '../coverage-shape.js';
import { useLoad } from '../load.js';
import type { Session } from '../session.js';
import { ErrorMessage } from './error-message.js';
import { StatusBadge } from './status.js';

const MATRIX_MAX_HOSTS = 40;

async function fetchCoverage(session: Session, ccsId: string, signal: AbortSignal): Promise<unknown> {
  // Typed once the route is in the generated client; until then the path is spelled out here.
  const path = `/api/webserver/centralized-certificates/${encodeURIComponent(ccsId)}/coverage`;
  const { data, error, response } = await session.client.request('get', path as never, { signal } as never);
  if (!response.ok) throw apiError(response, error);
  return data;
}

function Matrix(props: { coverage: Coverage; hosts: string[] }) {
  const wide = props.hosts.length > MATRIX_MAX_HOSTS;
  return (
    <table class="grid-table coverage">
      <caption>Bound host names × hosts</caption>
      <thead>
        <tr>
          <th scope="col">Host name</th>
          <th scope="col">File</th>
          <th scope="col">Coverage</th>
          {wide ? (
            <th scope="col">Bound on</th>
          ) : (
            props.hosts.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))
          )}
        </tr>
      </thead>
      <tbody>
        {props.coverage.rows.map((row) => (
          <tr key={row.name}>
            <th scope="row">{row.name}</th>
            <td>{row.file ?? '—'}</td>
            <td>
              <StatusBadge
                status={
                  row.status === 'covered' ? 'applied' : row.status === 'uncovered' ? 'failed' : row.status
                }
              />
              {row.problems.length > 0 && <span class="muted"> {row.problems.join(', ')}</span>}
            </td>
            {wide ? (
              <td>{row.hosts.length} hosts</td>
            ) : (
              props.hosts.map((h) => (
                <td key={h} class={row.hosts.includes(h) ? `bound cov-${row.status}` : ''}>
                  {row.hosts.includes(h) ? 'bound' : ''}
                </td>
              ))
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CoverageTab(props: { session: Session; ccsId: string; hosts: string[] }) {
  const loaded = useLoad(
    (signal) => fetchCoverage(props.session, props.ccsId, signal),
    [props.session.client, props.ccsId],
    10_000,
  );
  if (loaded.error !== undefined) return <ErrorMessage error={loaded.error} />;
  if (loaded.data === undefined) return <p aria-busy="true">Loading coverage…</p>;
  const coverage = readCoverage(loaded.data);
  if (!coverage) return <pre class="raw">{JSON.stringify(loaded.data, null, 2)}</pre>;
  return (
    <div>
      {coverage.summary && (
        <p>
          {Object.entries(coverage.summary)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}
        </p>
      )}
      <Matrix coverage={coverage} hosts={props.hosts} />
      {coverage.unusedFiles.length > 0 && <p>Files no binding uses: {coverage.unusedFiles.join(', ')}</p>}
    </div>
  );
}
