/**
 * Rollouts (issue 19, docs/rollouts.md): a ccs-id's rollout policy
 * (`GET|PUT …/centralized-certificates/{ccs-id}/rollout`) and an operator's resume or rollback
 * of a halted rollout (`POST /api/operations/{id}/resume|rollback`, write role, audited).
 */
import { parseBody } from '../../shared/api-schemas.js';
import { assertCcsId } from '../../shared/names.js';
import { policyFromBody, RolloutBodySchema } from '../../shared/rollout/policy.js';
import { defineHttp } from '../route-table.js';
import { callerOf, guarded, type Call } from './guard.js';
import { readJsonBody } from './request-body.js';
import { json } from './respond.js';
import { rolloutPolicyView } from './rollout-views.js';
import { ccsHref, operationHref, operationView } from './views.js';

const idOf = (call: Call): string => assertCcsId(call.request.params.ccsId ?? '');

export const getRolloutPolicy = guarded('read', async (call) => {
  const id = idOf(call);
  return json(200, rolloutPolicyView(id, ccsHref(id), await call.app.rollouts.policy(id)));
});

export const putRolloutPolicy = guarded('write', async (call) => {
  const id = idOf(call);
  const policy = policyFromBody(parseBody(RolloutBodySchema, await readJsonBody(call.request)));
  const saved = await call.app.rollouts.setPolicy(id, policy, { id: call.callerId });
  return json(200, rolloutPolicyView(id, ccsHref(id), saved));
});

/** resume / rollback: 202 with the operation as it is after the request was taken. */
const operatorRequest = (kind: 'resume' | 'rollback') =>
  guarded('write', async (call) => {
    const id = call.request.params.id ?? '';
    const op = await call.app.rollouts.request(id, kind, callerOf(call));
    const hosts = await call.app.operations.hosts(op.id);
    const serving = await call.app.bindings.servingOf(op, hosts);
    return json(202, operationView(op, hosts, true, serving), { 'Operation-Location': operationHref(op.id) });
  });

export const resumeRollout = operatorRequest('resume');
export const rollBackRollout = operatorRequest('rollback');

const ROUTE = 'webserver/centralized-certificates/{ccsId}/rollout';
defineHttp({ name: 'getRolloutPolicy', route: ROUTE, methods: ['GET'], handler: getRolloutPolicy });
defineHttp({ name: 'putRolloutPolicy', route: ROUTE, methods: ['PUT'], handler: putRolloutPolicy });
defineHttp({
  name: 'resumeRollout',
  route: 'operations/{id}/resume',
  methods: ['POST'],
  handler: resumeRollout,
});
defineHttp({
  name: 'rollBackRollout',
  route: 'operations/{id}/rollback',
  methods: ['POST'],
  handler: rollBackRollout,
});
