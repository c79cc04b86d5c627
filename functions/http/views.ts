/**
 * Response bodies. IIS Administration field names (snake_case, `_links`); operation status
 * values follow the Azure long-running-operation convention. Never a password: the desired
 * state only holds Key Vault references, and those are not shown either.
 */
import type { CcsRecord, HostRecord, OperationHostRecord, OperationRecord } from '../../shared/model.js';

export const API = '/api';
export const ccsHref = (id: string): string => `${API}/webserver/centralized-certificates/${id}`;
export const operationHref = (id: string): string => `${API}/operations/${id}`;

export type HostStatus = 'applied' | 'pending' | 'failed' | 'reboot_required';

export function hostStatus(host: HostRecord, generation: number): HostStatus {
  if (host.actual?.rebootRequired) return 'reboot_required';
  if (host.appliedGeneration < generation) return host.lastError ? 'failed' : 'pending';
  return host.lastError ? 'failed' : 'applied';
}

export function hostsSummary(hosts: HostRecord[], generation: number): Record<string, number> {
  const summary: Record<string, number> = {
    total: hosts.length,
    applied: 0,
    pending: 0,
    failed: 0,
    reboot_required: 0,
  };
  for (const host of hosts) {
    const status = hostStatus(host, generation);
    summary[status] = (summary[status] ?? 0) + 1;
  }
  return summary;
}

export function ccsView(record: CcsRecord, hosts: HostRecord[]): Record<string, unknown> {
  const summary = hostsSummary(hosts, record.generation);
  const converged = summary.applied === summary.total;
  return {
    id: record.ccsId,
    path: record.desired.path,
    identity: { username: record.desired.username },
    status: converged ? 'converged' : (summary.failed ?? 0) > 0 ? 'degraded' : 'converging',
    generation: record.generation,
    hosts: summary,
    _links: {
      self: { href: ccsHref(record.ccsId) },
      hosts: { href: `${ccsHref(record.ccsId)}/hosts` },
      ...(record.lastOperationId ? { last_operation: { href: operationHref(record.lastOperationId) } } : {}),
    },
  };
}

export function hostView(host: HostRecord, generation: number): Record<string, unknown> {
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

export function operationView(op: OperationRecord, hosts: OperationHostRecord[]): Record<string, unknown> {
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
    hosts: hosts.map((h) => ({ name: h.host, preflight: h.preflight, apply: h.apply, error: h.error })),
    _links: { self: { href: operationHref(op.id) }, resource: { href: ccsHref(op.ccsId) } },
  };
}
