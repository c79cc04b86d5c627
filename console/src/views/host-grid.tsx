/**
 * Every host of a ccs-id as one small square, colored and patterned by status (never color alone:
 * failed squares are crossed, pending ones striped, reboot-required ones dotted), in name order.
 * It stays readable at 1,000 hosts — squares shrink as the fleet grows — and a legend counts each
 * status. The table below carries the same facts for keyboards and screen readers.
 */
import type { Schemas } from '../../../client/index.js';
import { plural } from '../format.js';

type Host = Schemas['HostList']['hosts'][number];
const STATUSES: Host['status'][] = ['applied', 'pending', 'failed', 'reboot_required'];
const LABEL: Record<Host['status'], string> = {
  applied: 'applied',
  pending: 'pending',
  failed: 'failed',
  reboot_required: 'reboot required',
};

export function HostGrid(props: { hosts: Host[] }) {
  const counts = STATUSES.map((status) => ({
    status,
    n: props.hosts.filter((h) => h.status === status).length,
  }));
  const summary = counts
    .filter((c) => c.n > 0)
    .map((c) => `${c.n} ${LABEL[c.status]}`)
    .join(', ');
  const size = props.hosts.length > 400 ? 'small' : props.hosts.length > 100 ? 'medium' : 'large';
  return (
    <figure class="host-grid-figure">
      <div
        class={`host-grid size-${size}`}
        role="img"
        aria-label={`${plural(props.hosts.length, 'host')}: ${summary || 'none enrolled'}`}
        data-testid="host-grid"
      >
        {props.hosts.map((host) => (
          <span
            key={host.name}
            class={`cell st-${host.status}`}
            title={`${host.name}: ${LABEL[host.status]}`}
          />
        ))}
      </div>
      <figcaption>
        <ul class="legend">
          {counts.map((c) => (
            <li key={c.status}>
              <span class={`cell st-${c.status}`} aria-hidden="true" /> {LABEL[c.status]}: {c.n}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
