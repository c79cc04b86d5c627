/**
 * The `/api/webserver/centralized-certificates` resource: thin handlers over CcsService. They
 * read the HTTP request (route, body, `If-Match`, `Prefer`) into typed values; the service
 * decides.
 */
import { EnableBodySchema, parseBody, UpdateBodySchema } from '../../shared/api-schemas.js';
import { invalid } from '../../shared/errors.js';
import { assertCcsId } from '../../shared/names.js';
import { policyFromBody } from '../../shared/rollout/policy.js';
import type { EnableRequest, UpdateRequest } from '../../shared/services/ccs-service.js';
import { defineHttp } from '../route-table.js';
import { etagOf, parseIfMatch } from './etag.js';
import { forceOf } from './force.js';
import { callerOf, guarded, type Call } from './guard.js';
import { preferredWaitSeconds, readJsonBody } from './request-body.js';
import { json } from './respond.js';
import { respondToOperation } from './operation-wait.js';
import { ccsHref, ccsListView, ccsView } from './views.js';
import { hostsResponse } from './enrolment.js';

const ROUTE = 'webserver/centralized-certificates';

/**
 * The route's ccs-id, checked before the body is read (400 `id`); the collection route has none
 * and addresses CCS_DEFAULT_ID, as IIS Administration clients expect (functions/http/ccs-collection.ts).
 */
const idOf = (call: Call): string => assertCcsId(call.request.params.ccsId ?? call.app.config.CCS_DEFAULT_ID);
const ifMatchOf = (call: Call) => parseIfMatch(call.request.headers.get('if-match'));

async function current(call: Call, status = 200) {
  const id = idOf(call);
  const { record, hosts } = await call.app.ccs.get(id);
  const [coverage, serving] = await Promise.all([
    call.app.coverage.summary(record.ccsId),
    call.app.bindings.servingAt(record.ccsId, record.generation),
  ]);
  // Reached without an id, the answer says which resource it is (IIS Administration: Location).
  const headers: Record<string, string> = { ETag: etagOf(record) };
  if (call.request.params.ccsId === undefined) headers.Location = ccsHref(id);
  return json(status, ccsView(record, hosts, { coverage, serving }), headers);
}

/** POST body → EnableRequest (the schema has checked every field). */
async function enableRequest(call: Call): Promise<EnableRequest> {
  const body = parseBody(EnableBodySchema, await readJsonBody(call.request));
  return {
    path: body.path,
    username: body.identity.username,
    password: body.identity.password,
    ...(body.private_key_password === undefined ? {} : { privateKeyPassword: body.private_key_password }),
    ...(body.rollout === undefined ? {} : { rollout: policyFromBody(body.rollout) }),
  };
}

/** PATCH body → UpdateRequest; the read-only fields of a GET body may come back (ignored), `id` must match. */
async function updateRequest(call: Call, ccsId: string): Promise<UpdateRequest> {
  const body = parseBody(UpdateBodySchema, await readJsonBody(call.request));
  if (body.id !== undefined && body.id !== ccsId) throw invalid('id', 'id does not match the resource');
  const request: UpdateRequest = {};
  if (body.path !== undefined) request.path = body.path;
  if (body.identity?.username !== undefined) request.username = body.identity.username;
  if (body.identity?.password !== undefined) request.password = body.identity.password;
  if (body.private_key_password !== undefined) request.privateKeyPassword = body.private_key_password;
  if (body.rollout !== undefined) request.rollout = policyFromBody(body.rollout);
  return request;
}

export const listCcs = guarded('read', async ({ app }) => json(200, ccsListView(await app.ccs.list())));

export const getCcs = guarded('read', (call) => current(call));

export const enableCcs = guarded('write', async (call) => {
  const force = forceOf(call.request);
  const op = await call.app.ccs.enable(idOf(call), await enableRequest(call), callerOf(call), { force });
  return respondToOperation(call.app, op, preferredWaitSeconds(call.request), () => current(call));
});

export const updateCcs = guarded('write', async (call) => {
  const id = idOf(call);
  const force = forceOf(call.request);
  const request = await updateRequest(call, id);
  const result = await call.app.ccs.update(id, request, ifMatchOf(call), callerOf(call), { force });
  if (result.kind === 'unchanged') return current(call);
  return respondToOperation(call.app, result.operation, preferredWaitSeconds(call.request), () =>
    current(call),
  );
});

export const disableCcs = guarded('write', async (call) => {
  const id = idOf(call);
  const force = forceOf(call.request);
  // Sites that use CCS lose their certificates when it is disabled: 409 unless forced.
  if (!force) await call.app.bindings.refuseDisableWhileSitesUseCcs(id);
  const op = await call.app.ccs.disable(id, ifMatchOf(call), callerOf(call), { force });
  if (!op) return { status: 204 };
  return respondToOperation(call.app, op, preferredWaitSeconds(call.request), () =>
    Promise.resolve({ status: 204 }),
  );
});

export const listHosts = guarded('read', (call) => hostsResponse(call, idOf(call)));

// The fleet list has its own route: the collection route is the default ccs-id's resource.
defineHttp({ name: 'listCentralizedCertificates', route: 'ccs-ids', methods: ['GET'], handler: listCcs });
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
