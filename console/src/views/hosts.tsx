/**
 * A ccs-id's hosts: the status grid, then every host with its status, applied vs desired
 * generation, last seen, drift, agent version and reboot state — problems first, filterable.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../../client/index.js';
import { ago } from '../format.js';
import { HostGrid } from './host-grid.js';
import { StatusBadge } from './status.js';

type HostList = Schemas['HostList'];
type Host = HostList['hosts'][number];

const RANK: Record<Host['status'], number> = { failed: 0, reboot_required: 1, pending: 2, applied: 3 };

export function HostsTab(props: { hosts: HostList }) {
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState<'' | Host['status']>('');
  useEffect(() => {
    if (performance.getEntriesByName('ccs:hosts-rendered').length === 0)
      performance.mark('ccs:hosts-rendered');
  }, []);
  const hosts = props.hosts.hosts;
  const shown = hosts
    .filter(
      (h) => (status === '' || h.status === status) && h.name.toLowerCase().includes(filter.toLowerCase()),
    )
    .sort((a, b) => RANK[a.status] - RANK[b.status] || a.name.localeCompare(b.name));
  return (
    <div>
      <HostGrid hosts={hosts} />
      <div class="filters" role="search">
        <label for="host-filter">Host name contains</label>
        <input id="host-filter" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        <label for="host-status">Status</label>
        <select
          id="host-status"
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value as '' | Host['status'])}
        >
          <option value="">any</option>
          <option value="failed">failed</option>
          <option value="reboot_required">reboot required</option>
          <option value="pending">pending</option>
          <option value="applied">applied</option>
        </select>
      </div>
      <table class="grid-table" data-testid="hosts-table">
        <caption>
          {shown.length} of {hosts.length} hosts; desired generation {props.hosts.desired_generation}
        </caption>
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Status</th>
            <th scope="col">Applied / desired</th>
            <th scope="col">Last seen</th>
            <th scope="col">Drift</th>
            <th scope="col">Agent</th>
            <th scope="col">Reboot required</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((h) => (
            <tr key={h.name}>
              <th scope="row">{h.name}</th>
              <td>
                <StatusBadge status={h.status} />
              </td>
              <td>
                {h.applied_generation} / {h.desired_generation}
              </td>
              <td title={h.last_seen}>{ago(h.last_seen)}</td>
              <td title={h.last_drift ?? undefined}>
                {h.last_drift ? `repaired ${ago(h.last_drift)}` : '—'}
              </td>
              <td>
                {h.agent.version} <span class="muted">({h.agent.backend})</span>
              </td>
              <td>{h.actual?.reboot_required ? 'yes' : 'no'}</td>
              <td>
                {h.last_error ? `${h.last_error.name}: ${h.last_error.detail} (${h.last_error.code})` : '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
