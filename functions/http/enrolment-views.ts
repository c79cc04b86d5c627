/**
 * Response bodies of enrolment (issue 17): a host's enrolment beside its applied state, the
 * pending hosts, a new code. Never the code's hash, never a key's private part (the API has none).
 */
import type { z } from 'zod';
import type { BindingsHead, ServingRecord } from '../../shared/bindings/model.js';
import type { CcsRecord, HostKeyRecord, HostRecord } from '../../shared/model.js';
import type { NewEnrolmentCode } from '../../shared/services/enrolment-service.js';
import type {
  ApprovedHostSchema,
  EnrolmentCodeSchema,
  HostEnrolmentSchema,
} from '../openapi/enrolment-schemas.js';
import type { HostListSchema } from '../openapi/response-schemas.js';
import { byHost, ccsHref, hostView } from './views.js';

export function enrolmentView(key: HostKeyRecord | undefined): z.output<typeof HostEnrolmentSchema> {
  return {
    status: key?.pending ? 'pending' : key?.key ? 'enrolled' : 'unregistered',
    thumbprint: key?.thumbprint ?? null,
    pending_thumbprint: key?.pending?.thumbprint ?? null,
    enrolled: key?.enrolledAt ?? null,
    enrolled_by: key?.enrolledBy ?? null,
    first_seen: key?.pending?.firstSeen ?? null,
  };
}

type HostItem = z.output<typeof HostListSchema>['hosts'][number];

function hostList(
  ccsId: string,
  generation: number,
  hosts: HostItem[],
  query = '',
): z.output<typeof HostListSchema> {
  return {
    id: ccsId,
    desired_generation: generation,
    hosts,
    _links: { self: { href: `${ccsHref(ccsId)}/hosts${query}` }, resource: { href: ccsHref(ccsId) } },
  };
}

/** What the host list shows of each host besides its row (issue 13). */
export interface HostListExtras {
  bindings: BindingsHead[];
  serving: ServingRecord[];
}

/** The host list: every host row, each with its bindings, newest serving check and enrolment. */
export function hostListView(
  ccsId: string,
  record: CcsRecord | null,
  hosts: HostRecord[],
  keys: HostKeyRecord[],
  extras: HostListExtras = { bindings: [], serving: [] },
): z.output<typeof HostListSchema> {
  const generation = record?.generation ?? 0;
  const keyOf = byHost(keys);
  const bindingsOf = byHost(extras.bindings);
  const servingOf = byHost(extras.serving);
  const items = hosts.map((h) => ({
    ...hostView(h, generation, {
      bindings: bindingsOf.get(h.host.toLowerCase()) ?? null,
      serving: servingOf.get(h.host.toLowerCase()) ?? null,
    }),
    enrolment: enrolmentView(keyOf.get(h.host.toLowerCase())),
  }));
  return hostList(ccsId, generation, items);
}

/**
 * `?status=pending`: the hosts whose key waits for approval — new hosts (shown as their unverified
 * hello described them: nothing of it was folded) and rebuilt ones (shown as last trusted).
 */
export function pendingHostListView(
  ccsId: string,
  record: CcsRecord | null,
  hosts: HostRecord[],
  keys: HostKeyRecord[],
): z.output<typeof HostListSchema> {
  const generation = record?.generation ?? 0;
  const rowOf = byHost(hosts);
  const items = keys
    .filter((key) => key.pending)
    .map((key) => {
      const row = rowOf.get(key.host.toLowerCase()) ?? {
        ccsId,
        host: key.host,
        ...key.pending!.hello,
        lastSeen: key.pending!.lastSeen,
        lastError: null,
        lastDriftAt: null,
      };
      return { ...hostView(row, generation), enrolment: enrolmentView(key) };
    });
  return hostList(ccsId, generation, items, '?status=pending');
}

export function enrolmentCodeView(
  ccsId: string,
  created: NewEnrolmentCode,
): z.output<typeof EnrolmentCodeSchema> {
  return {
    id: created.id,
    ccs_id: ccsId,
    code: created.code,
    expires: created.expiresAt,
    _links: { resource: { href: ccsHref(ccsId) }, hosts: { href: `${ccsHref(ccsId)}/hosts` } },
  };
}

export function approvedHostView(key: HostKeyRecord): z.output<typeof ApprovedHostSchema> {
  return {
    name: key.host,
    ccs_id: key.ccsId,
    enrolment: enrolmentView(key),
    _links: { hosts: { href: `${ccsHref(key.ccsId)}/hosts` } },
  };
}
