/** The `/api/webserver/centralized-certificates` resource: thin handlers over CcsService. */
import { defineHttp } from '../route-table.js';
import { etagOf } from '../../shared/services/ccs-service.js';
import { guarded, type Call } from './guard.js';
import { preferredWaitSeconds, readJsonBody } from './request-body.js';
import { json } from './respond.js';
import { respondToOperation } from './operation-wait.js';
import { ccsHref, ccsView, hostView } from './views.js';

const ROUTE = 'webserver/centralized-certificates';

const idOf = (call: Call): string => call.request.params.ccsId ?? '';

async function current(call: Call, status = 200) {
  const { record, hosts } = await call.app.ccs.get(idOf(call));
  return json(status, ccsView(record, hosts), { ETag: etagOf(record) });
}

export const listCcs = guarded('read', async ({ app }) => {
  const records = await app.ccs.list();
  return json(200, {
    'centralized-certificates': records.map((r) => ({
      id: r.ccsId,
      path: r.desired.path,
      _links: { self: { href: ccsHref(r.ccsId) } },
    })),
  });
});

export const getCcs = guarded('read', (call) => current(call));

export const enableCcs = guarded('write', async (call) => {
  const body = await readJsonBody(call.request);
  const op = await call.app.ccs.enable(idOf(call), body, { id: call.callerId });
  return respondToOperation(call.app, op, preferredWaitSeconds(call.request), () => current(call));
});

export const updateCcs = guarded('write', async (call) => {
  const body = await readJsonBody(call.request);
  const result = await call.app.ccs.update(idOf(call), body, call.request.headers.get('if-match'), {
    id: call.callerId,
  });
  if (result.kind === 'unchanged') return current(call);
  return respondToOperation(call.app, result.operation, preferredWaitSeconds(call.request), () =>
    current(call),
  );
});

export const disableCcs = guarded('write', async (call) => {
  const op = await call.app.ccs.disable(idOf(call), call.request.headers.get('if-match'), {
    id: call.callerId,
  });
  if (!op) return { status: 204 };
  return respondToOperation(call.app, op, preferredWaitSeconds(call.request), () =>
    Promise.resolve({ status: 204 }),
  );
});

export const listHosts = guarded('read', async (call) => {
  const { record, hosts } = await call.app.ccs.hosts(idOf(call));
  const generation = record?.generation ?? 0;
  return json(200, {
    id: idOf(call),
    desired_generation: generation,
    hosts: hosts.map((h) => hostView(h, generation)),
    _links: { self: { href: `${ccsHref(idOf(call))}/hosts` }, resource: { href: ccsHref(idOf(call)) } },
  });
});

defineHttp({ name: 'listCentralizedCertificates', route: ROUTE, methods: ['GET'], handler: listCcs });
defineHttp({
  name: 'getCentralizedCertificates',
  route: `${ROUTE}/{ccsId}`,
  methods: ['GET'],
  handler: getCcs,
});
defineHttp({
  name: 'enableCentralizedCertificates',
  route: `${ROUTE}/{ccsId}`,
  methods: ['POST'],
  handler: enableCcs,
});
defineHttp({
  name: 'updateCentralizedCertificates',
  route: `${ROUTE}/{ccsId}`,
  methods: ['PATCH'],
  handler: updateCcs,
});
defineHttp({
  name: 'disableCentralizedCertificates',
  route: `${ROUTE}/{ccsId}`,
  methods: ['DELETE'],
  handler: disableCcs,
});
defineHttp({
  name: 'listCentralizedCertificateHosts',
  route: `${ROUTE}/{ccsId}/hosts`,
  methods: ['GET'],
  handler: listHosts,
});
