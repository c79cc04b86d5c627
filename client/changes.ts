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

/**
 * `?force=true`: make the change although sites bound to CCS lose their certificates (issue 13:
 * DELETE answers 409 `SitesUseCcs` without it). The API of this tree's document does not know the
 * parameter yet (an API that does not know it ignores it), so it is added untyped; once the
 * document has it and `npm run client` regenerated the types, this can become a typed `query`.
 */
const forced = (force: boolean | undefined): object => (force ? { query: { force: true } } : {});

export async function enable(
  client: CcsClient,
  ccsId: string,
  body: EnableBody,
  force?: boolean,
): Promise<ChangeAnswer> {
  const { data, error, response } = await client.POST(route, {
    params: { path: { ccsId }, ...forced(force) },
    body,
  });
  if (!response.ok || data === undefined) throw apiError(response, error);
  return 'kind' in data ? { kind: 'accepted', operationId: data.id } : { kind: 'done', resource: data };
}

export async function update(
  client: CcsClient,
  ccsId: string,
  body: UpdateBody,
  ifMatch?: string,
  force?: boolean,
): Promise<ChangeAnswer> {
  const { data, error, response } = await client.PATCH(route, {
    params: { path: { ccsId }, ...(ifMatch ? { header: { 'If-Match': ifMatch } } : {}), ...forced(force) },
    body,
  });
  if (!response.ok || data === undefined) throw apiError(response, error);
  return 'kind' in data ? { kind: 'accepted', operationId: data.id } : { kind: 'done', resource: data };
}

export async function disable(
  client: CcsClient,
  ccsId: string,
  ifMatch?: string,
  force?: boolean,
): Promise<ChangeAnswer> {
  const { data, error, response } = await client.DELETE(route, {
    params: { path: { ccsId }, ...(ifMatch ? { header: { 'If-Match': ifMatch } } : {}), ...forced(force) },
  });
  if (!response.ok) throw apiError(response, error);
  return response.status === 202 && data
    ? { kind: 'accepted', operationId: data.id }
    : { kind: 'done', resource: null };
}
