/**
 * The three changes — enable (POST), update (PATCH), disable (DELETE) — sent as the API takes
 * them: without `Prefer: wait`, so the answer is at once 202 + the operation to follow (or 200/204
 * when nothing needs the hosts). The caller follows the operation (operations.ts) and shows its
 * progress; the outcome is the same the API would give a caller that waited.
 */
import type { CcsClient, Schemas } from './types.js';
import { apiError } from './errors.js';

export type EnableBody = Schemas['EnableCentralizedCertificates'];
export type UpdateBody = Schemas['UpdateCentralizedCertificates'];
export type Resource = Schemas['CentralizedCertificates'];

/** Accepted: follow `operationId`. Done: nothing needed the hosts (an update that changes nothing, a disable of what is not enabled). */
export type ChangeAnswer =
  { kind: 'accepted'; operationId: string } | { kind: 'done'; resource: Resource | null };

const route = '/api/webserver/centralized-certificates/{ccsId}';

export async function enable(client: CcsClient, ccsId: string, body: EnableBody): Promise<ChangeAnswer> {
  const { data, error, response } = await client.POST(route, { params: { path: { ccsId } }, body });
  if (!response.ok || data === undefined) throw apiError(response, error);
  return 'kind' in data ? { kind: 'accepted', operationId: data.id } : { kind: 'done', resource: data };
}

export async function update(
  client: CcsClient,
  ccsId: string,
  body: UpdateBody,
  ifMatch?: string,
): Promise<ChangeAnswer> {
  const { data, error, response } = await client.PATCH(route, {
    params: { path: { ccsId }, ...(ifMatch ? { header: { 'If-Match': ifMatch } } : {}) },
    body,
  });
  if (!response.ok || data === undefined) throw apiError(response, error);
  return 'kind' in data ? { kind: 'accepted', operationId: data.id } : { kind: 'done', resource: data };
}

export async function disable(client: CcsClient, ccsId: string, ifMatch?: string): Promise<ChangeAnswer> {
  const { data, error, response } = await client.DELETE(route, {
    params: { path: { ccsId }, ...(ifMatch ? { header: { 'If-Match': ifMatch } } : {}) },
  });
  if (!response.ok) throw apiError(response, error);
  return response.status === 202 && data
    ? { kind: 'accepted', operationId: data.id }
    : { kind: 'done', resource: null };
}
