/** The fleet: every ccs-id (through client/fleet.ts, the one place that lists them) and its state. */
import { useState } from 'preact/hooks';
import { listFleet } from '../../../client/fleet.js';
import { apiError } from '../../../client/errors.js';
import { useLoad } from '../load.js';
import { hrefOf } from '../route.js';
import type { Session } from '../session.js';
import { ErrorMessage } from './error-message.js';
import { StatusBadge } from './status.js';

export function FleetView(props: { session: Session }) {
  const { client } = props.session;
  const fleet = useLoad(
    async (signal) => {
      const entries = await listFleet(client);
      return Promise.all(
        entries.map(async (entry) => {
          if (!entry.enabled) return { entry, resource: null };
          const { data, error, response } = await client.GET(
            '/api/webserver/centralized-certificates/{ccsId}',
            {
              params: { path: { ccsId: entry.id } },
              signal,
            },
          );
          if (!response.ok && response.status !== 404) throw apiError(response, error);
          return { entry, resource: data ?? null };
        }),
      );
    },
    [client],
    10_000,
  );
  const [open, setOpen] = useState('');

  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title" tabIndex={-1}>
        Fleet
      </h1>
      {fleet.error !== undefined && <ErrorMessage error={fleet.error} />}
      {fleet.data === undefined ? (
        <p aria-busy="true">Loading the ccs-ids…</p>
      ) : (
        <table class="grid-table">
          <caption>ccs-ids (server groups) and their state</caption>
          <thead>
            <tr>
              <th scope="col">ccs-id</th>
              <th scope="col">Status</th>
              <th scope="col">Share</th>
              <th scope="col">Hosts applied</th>
              <th scope="col">Generation</th>
            </tr>
          </thead>
          <tbody>
            {fleet.data.map(({ entry, resource }) => (
              <tr key={entry.id}>
                <th scope="row">
                  <a href={hrefOf.ccs(entry.id)}>{entry.id}</a>
                </th>
                <td>
                  {resource ? (
                    <StatusBadge status={resource.status} />
                  ) : (
                    <span class="muted">not enabled</span>
                  )}
                </td>
                <td>{resource?.path ?? '—'}</td>
                <td>{resource ? `${resource.hosts.applied} of ${resource.hosts.total}` : '—'}</td>
                <td>{resource?.generation ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (open.trim()) location.hash = hrefOf.ccs(open.trim().toLowerCase());
        }}
      >
        <label for="open-ccs">Open another ccs-id</label>
        <input
          id="open-ccs"
          value={open}
          onInput={(e) => setOpen(e.currentTarget.value)}
          pattern="[a-z0-9](-?[a-z0-9])*"
          maxLength={32}
          placeholder="e.g. web-farm-2"
        />
        <button type="submit" class="secondary">
          Open
        </button>
      </form>
    </section>
  );
}
