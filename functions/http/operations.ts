/** `/api/operations/{id}`: the Azure long-running-operation status resource. */
import { defineHttp } from '../route-table.js';
import { guarded } from './guard.js';
import { json } from './respond.js';
import { operationView } from './views.js';

export const getOperation = guarded('read', async ({ app, request }) => {
  const { operation, hosts } = await app.operations.get(request.params.id ?? '');
  const running = operation.status === 'Running' || operation.status === 'NotStarted';
  const serving = await app.bindings.servingOf(operation, hosts);
  return json(200, operationView(operation, hosts, serving), running ? { 'Retry-After': '1' } : {});
});

defineHttp({ name: 'getOperation', route: 'operations/{id}', methods: ['GET'], handler: getOperation });
