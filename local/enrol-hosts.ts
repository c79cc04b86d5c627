/**
 * How the local stack's simulated hosts enrol (issue 17): as an operator would enrol new servers.
 * Before the agents start, the stack asks its own API for a one-time enrolment code
 * (`POST …/enrolment-codes`, with the write token) for every host whose key on disk is not the
 * key the API has registered for it — a first start, a host whose state was deleted, or a folder
 * from a version before enrolment — and puts the code in that agent's configuration. Hosts that
 * are enrolled already get no code. Nothing is pre-approved and nothing bypasses the check.
 */
import { join } from 'node:path';
import { readHostKeyThumbprint } from '../agent/host-key.js';

export interface EnrolmentCheck {
  /** The registered thumbprint of a host, or null (shared/services/enrolment-service.ts). */
  registered(host: string): Promise<string | null>;
  /** Where a host's agent keeps its state (and its host key). */
  stateDir(host: string): string;
}

/** Whether the key on a host's disk is the one the API registered for it. */
export async function isEnrolled(check: EnrolmentCheck, host: string): Promise<boolean> {
  const onDisk = await readHostKeyThumbprint(check.stateDir(host));
  return onDisk !== null && onDisk === (await check.registered(host));
}

/** One code per host that needs one, created through the API as a write-role caller. */
export async function enrolmentCodes(
  api: { url: string; token: string; ccsId: string },
  hosts: string[],
  check: EnrolmentCheck,
): Promise<Map<string, string>> {
  const codes = new Map<string, string>();
  for (const host of hosts) {
    if (await isEnrolled(check, host)) continue;
    const res = await fetch(`${api.url}/webserver/centralized-certificates/${api.ccsId}/enrolment-codes`, {
      method: 'POST',
      headers: { 'Access-Token': `Bearer ${api.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ expires_in_minutes: 60 }),
    });
    if (res.status !== 201) throw new Error(`the API refused an enrolment code for ${host}: ${res.status}`);
    codes.set(host, ((await res.json()) as { code: string }).code);
  }
  return codes;
}

/** The local fleet's agents keep their state in `<dir>/agents/<host>/state` (local/agents.ts). */
export const localStateDir = (dir: string, host: string): string => join(dir, 'agents', host, 'state');
