/**
 * Enrolment routes (issue 17), write role: one-time enrolment codes for new hosts, and approval
 * of a host whose key waits (`GET …/hosts?status=pending` lists them). Thin handlers over
 * EnrolmentService; the service audits each action.
 */
import { ApproveHostBodySchema, EnrolmentCodeBodySchema } from '../../shared/enrolment-api-schemas.js';
import { CODE_TTL_MINUTES } from '../../shared/enrolment.js';
import { parseBody } from '../../shared/api-schemas.js';
import { invalid } from '../../shared/errors.js';
import { assertCcsId } from '../../shared/names.js';
import { defineHttp } from '../route-table.js';
import { approvedHostView, enrolmentCodeView, hostListView, pendingHostListView } from './enrolment-views.js';
import { callerOf, guarded, type Call } from './guard.js';
import { readJsonBody } from './request-body.js';
import { json } from './respond.js';

const ROUTE = 'webserver/centralized-certificates/{ccsId}';
const idOf = (call: Call): string => assertCcsId(call.request.params.ccsId ?? '');

/** `?status=` of the host list: only `pending` (hosts waiting for approval) filters. */
function statusFilter(call: Call): 'pending' | null {
  const status = call.request.query.get('status');
  if (status === null) return null;
  if (status !== 'pending') throw invalid('status', 'status must be "pending" (hosts waiting for approval)');
  return status;
}

/** GET …/hosts[?status=pending]: every host with its enrolment, or the hosts waiting for approval. */
export async function hostsResponse(call: Call, ccsId: string) {
  const filter = statusFilter(call);
  const [{ record, hosts }, keys] = await Promise.all([
    call.app.ccs.hosts(ccsId),
    call.app.enrolment.hostKeys(ccsId),
  ]);
  if (filter === 'pending') return json(200, pendingHostListView(ccsId, record, hosts, keys));
  const [bindings, serving] = await Promise.all([
    call.app.bindings.heads(ccsId),
    call.app.bindings.latestServing(ccsId),
  ]);
  return json(200, hostListView(ccsId, record, hosts, keys, { bindings, serving }));
}

export const createEnrolmentCode = guarded('write', async (call) => {
  const ccsId = idOf(call);
  const body = parseBody(EnrolmentCodeBodySchema, await readJsonBody(call.request));
  const ttl = body.expires_in_minutes ?? CODE_TTL_MINUTES.default;
  const created = await call.app.enrolment.createCode(ccsId, ttl, callerOf(call));
  return json(201, enrolmentCodeView(ccsId, created));
});

export const approveHost = guarded('write', async (call) => {
  const ccsId = idOf(call);
  const host = call.request.params.name ?? '';
  const body = parseBody(ApproveHostBodySchema, await readJsonBody(call.request));
  const approved = await call.app.enrolment.approve(ccsId, host, body.thumbprint, callerOf(call));
  return json(200, approvedHostView(approved));
});

defineHttp({
  name: 'createEnrolmentCode',
  route: `${ROUTE}/enrolment-codes`,
  methods: ['POST'],
  handler: createEnrolmentCode,
});
defineHttp({
  name: 'approveCentralizedCertificateHost',
  route: `${ROUTE}/hosts/{name}/approve`,
  methods: ['POST'],
  handler: approveHost,
});
