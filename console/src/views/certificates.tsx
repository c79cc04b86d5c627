/**
 * A ccs-id's certificates (the inventory of its share, /api/certificates): the expiry timeline,
 * the problems at a glance, and every file with its names, expiry and problems.
 */
import { apiError } from '../../../client/errors.js';
import type { CcsClient, Schemas } from '../../../client/index.js';
import { ago, dateOf, plural } from '../format.js';
import { useLoad } from '../load.js';
import type { Session } from '../session.js';
import { ErrorMessage } from './error-message.js';
import { ExpiryChart, toneOf } from './expiry-chart.js';

type Store = Schemas['CertificateStore'];
type Certificate = Schemas['Certificate'];

async function certificatesOf(client: CcsClient, ccsId: string, signal: AbortSignal) {
  const stores = await client.GET('/api/certificates/stores', { signal });
  if (!stores.response.ok || !stores.data) throw apiError(stores.response, stores.error);
  const store = stores.data.stores.find((s) => s.ccs_id === ccsId);
  if (!store) return { store: null, certificates: [] };
  const list = await client.GET('/api/certificates', {
    params: { query: { 'store.id': store.id, fields: '*' } },
    signal,
  });
  if (!list.response.ok || !list.data) throw apiError(list.response, list.error);
  const certificates = [...list.data.certificates].sort(
    (a, b) => (a.expires_in_days ?? Infinity) - (b.expires_in_days ?? Infinity),
  );
  return { store, certificates };
}

function summaryOf(certificates: Certificate[]): string {
  const expired = certificates.filter((c) => toneOf(c) === 'expired').length;
  const expiring = certificates.filter((c) => toneOf(c) === 'expiring').length;
  return `${plural(certificates.length, 'certificate')}; ${expired} expired, ${expiring} expiring soon`;
}

function Inventory(props: { store: Store }) {
  const { inventory } = props.store;
  return (
    <p class="muted">
      Inventory {inventory.status}
      {inventory.scanner ? ` by ${inventory.scanner}` : ''}, last scan {ago(inventory.last_scan)}
      {inventory.error ? ` — ${inventory.error.name}: ${inventory.error.detail}` : ''}
    </p>
  );
}

export function CertificatesTab(props: { session: Session; ccsId: string }) {
  const loaded = useLoad(
    (signal) => certificatesOf(props.session.client, props.ccsId, signal),
    [props.session.client, props.ccsId],
    10_000,
  );
  if (loaded.error !== undefined) return <ErrorMessage error={loaded.error} />;
  if (!loaded.data) return <p aria-busy="true">Loading the certificates…</p>;
  const { store, certificates } = loaded.data;
  if (!store) return <p>CCS is not enabled for {props.ccsId}, so it has no certificate store yet.</p>;
  const summary = summaryOf(certificates);
  return (
    <div>
      <Inventory store={store} />
      <p class="cert-summary" data-testid="certificate-summary">
        {summary}
      </p>
      {certificates.length > 0 && <ExpiryChart certificates={certificates} summary={summary} />}
      <table class="grid-table" data-testid="certificates-table">
        <caption>Files in {store.path ?? 'the share'}, soonest expiry first</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Subject and names</th>
            <th scope="col">Valid to</th>
            <th scope="col">Days left</th>
            <th scope="col">Problems</th>
          </tr>
        </thead>
        <tbody>
          {certificates.map((c) => (
            <tr key={c.id} data-alias={c.alias} class={`tone-row-${toneOf(c)}`}>
              <th scope="row">{c.alias}</th>
              <td>
                {c.subject ?? '—'}
                {c.subject_alternative_names && c.subject_alternative_names.length > 0 && (
                  <span class="muted"> ({c.subject_alternative_names.join(', ')})</span>
                )}
              </td>
              <td>{dateOf(c.valid_to)}</td>
              <td>{c.expires_in_days ?? '—'}</td>
              <td>
                {(c.problems ?? []).length === 0
                  ? 'none'
                  : (c.problems ?? []).map((p) => (
                      <span key={p.code} class={`badge problem problem-${p.code}`} title={p.detail}>
                        {p.code.replace(/_/g, ' ')}
                      </span>
                    ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
