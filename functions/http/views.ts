/**
 * Response bodies. IIS Administration field names (snake_case, `_links`); operation status
 * values follow the Azure long-running-operation convention. Never a password: the desired
 * state only holds Key Vault references, and those are not shown either. Each view's type is
 * the output of its response schema (functions/openapi/response-schemas.ts), so a field the
 * schema (and so the OpenAPI document) lacks does not compile.
 */
import type { z } from 'zod';
import type {
  AuditEntry,
  CcsRecord,
  HostRecord,
  OperationHostRecord,
  OperationRecord,
} from '../../shared/model.js';
import type {
  AuditLogSchema,
  CentralizedCertificatesListSchema,
  CentralizedCertificatesSchema,
  HostListSchema,
  HostSchema,
  HostsSummarySchema,
  OperationSchema,
} from '../openapi/response-schemas.js';

import { rolloutView } from './rollout-views.js';

export const API = '/api';
export const ccsHref = (id: string): string => `${API}/webserver/centralized-certificates/${id}`;
export const operationHref = (id: string): string => `${API}/operations/${id}`;

export type HostStatus = z.output<typeof HostSchema>['status'];

export function hostStatus(host: HostRecord, generation: number): HostStatus {
  if (host.actual?.rebootRequired) return 'reboot_required';
  if (host.appliedGeneration < generation) return host.lastError ? 'failed' : 'pending';
  return host.lastError ? 'failed' : 'applied';
}

export function hostsSummary(hosts: HostRecord[], generation: number): z.output<typeof HostsSummarySchema> {
  const summary = { total: hosts.length, applied: 0, pending: 0, failed: 0, reboot_required: 0 };
  for (const host of hosts) summary[hostStatus(host, generation)] += 1;
  return summary;
}

export function ccsView(
  record: CcsRecord,
  hosts: HostRecord[],
): z.output<typeof CentralizedCertificatesSchema> {
  const summary = hostsSummary(hosts, record.generation);
  const converged = summary.applied === summary.total;
  return {
    id: record.ccsId,
    path: record.desired.path,
    identity: { username: record.desired.username },
    status: converged ? 'converged' : summary.failed > 0 ? 'degraded' : 'converging',
    generation: record.generation,
    hosts: summary,
    _links: {
      self: { href: ccsHref(record.ccsId) },
      hosts: { href: `${ccsHref(record.ccsId)}/hosts` },
      ...(record.lastOperationId ? { last_operation: { href: operationHref(record.lastOperationId) } } : {}),
    },
  };
}

export function ccsListView(records: CcsRecord[]): z.output<typeof CentralizedCertificatesListSchema> {
  return {
    'centralized-certificates': records.map((r) => ({
      id: r.ccsId,
      path: r.desired.path,
      _links: { self: { href: ccsHref(r.ccsId) } },
    })),
  };
}

export function hostView(host: HostRecord, generation: number): z.output<typeof HostSchema> {
  return {
    name: host.host,
    status: hostStatus(host, generation),
    applied_generation: host.appliedGeneration,
    desired_generation: generation,
    actual: host.actual
      ? {
          enabled: host.actual.enabled,
          path: host.actual.path,
          username: host.actual.username,
          reboot_required: host.actual.rebootRequired ?? false,
        }
      : null,
    agent: { version: host.agentVersion, backend: host.backend },
    last_seen: host.lastSeen,
    last_error: host.lastError,
    last_drift: host.lastDriftAt,
  };
}

export function hostListView(
  ccsId: string,
  record: CcsRecord | null,
  hosts: HostRecord[],
): z.output<typeof HostListSchema> {
  const generation = record?.generation ?? 0;
  return {
    id: ccsId,
    desired_generation: generation,
    hosts: hosts.map((h) => hostView(h, generation)),
    _links: { self: { href: `${ccsHref(ccsId)}/hosts` }, resource: { href: ccsHref(ccsId) } },
  };
}

export function operationView(
  op: OperationRecord,
  hosts: OperationHostRecord[],
): z.output<typeof OperationSchema> {
  return {
    id: op.id,
    status: op.status,
    kind: op.kind,
    ccs_id: op.ccsId,
    phase: op.phase,
    generation: op.targetGeneration,
    changed_fields: op.changedFields,
    requested_by: op.requestedBy,
    created: op.createdAt,
    updated: op.updatedAt,
    error: op.error,
    hosts: hosts.map((h) => ({
      name: h.host,
      preflight: h.preflight,
      apply: h.apply,
      error: h.error,
      ...(typeof h.wave === 'number' ? { wave: h.wave } : {}),
    })),
    ...(op.rollout ? { rollout: rolloutView(op.rollout) } : {}),
    _links: { self: { href: operationHref(op.id) }, resource: { href: ccsHref(op.ccsId) } },
  };
}

export function auditView(entries: AuditEntry[]): z.output<typeof AuditLogSchema> {
  return {
    entries: entries.map((e) => ({
      id: e.id,
      at: e.at,
      who: e.who,
      ccs_id: e.ccsId,
      operation: { id: e.operationId, kind: e.kind, status: e.status, href: operationHref(e.operationId) },
      changes: e.changes,
      _links: { resource: { href: ccsHref(e.ccsId) } },
    })),
    _links: { self: { href: `${API}/audit` } },
  };
}
