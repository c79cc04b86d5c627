/**
 * The fleet's ccs-ids — the ONE place any tool reads the fleet list. Today the list is the
 * collection route `GET /api/webserver/centralized-certificates` (the enabled ccs-ids); that
 * route is changing meaning (issue 20: it becomes the default ccs-id's resource and the list moves
 * elsewhere), so when it does, only this function changes.
 */
import type { CcsClient } from './types.js';
import { apiError } from './errors.js';

/** The ccs-id agents enrol in unless configured otherwise (local stack, install.ps1). */
export const DEFAULT_CCS_ID = 'default';

export interface FleetEntry {
  id: string;
  /** The share the ccs-id points at, null when CCS is not enabled for it. */
  path: string | null;
  enabled: boolean;
}

/** Every enabled ccs-id, and the default one (enabled or not: its hosts enrol before anyone enables it). */
export async function listFleet(client: CcsClient): Promise<FleetEntry[]> {
  const { data, error, response } = await client.GET('/api/ccs-ids');
  if (!response.ok || data === undefined) throw apiError(response, error);
  const enabled = data['centralized-certificates'].map((c) => ({ id: c.id, path: c.path, enabled: true }));
  if (enabled.some((e) => e.id === DEFAULT_CCS_ID)) return enabled;
  return [{ id: DEFAULT_CCS_ID, path: null, enabled: false }, ...enabled];
}
