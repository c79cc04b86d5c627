/**
 * What this API offers, read from its own OpenAPI document — so a tool shows a feature (the
 * console's coverage view) only when the API it talks to has the route, and lights it up when a
 * newer API adds it, without a new build.
 */
import type { CcsClient } from './types.js';
import { apiError } from './errors.js';

/** The document's path templates, e.g. `/api/webserver/centralized-certificates/{ccsId}/coverage`. */
export async function documentedPaths(client: CcsClient): Promise<Set<string>> {
  const { data, error, response } = await client.GET('/api/openapi.json');
  if (!response.ok || data === undefined) throw apiError(response, error);
  return new Set(Object.keys(data.paths));
}

export const COVERAGE_PATH = '/api/webserver/centralized-certificates/{ccsId}/coverage';
