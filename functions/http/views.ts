/**
 * Response bodies. IIS Administration field names (snake_case, `_links`); operation status
 * values follow the Azure long-running-operation convention. Never a password: the desired
 * state only holds Key Vault references, and those are not shown either. Each view's type is
 * the output of its response schema (functions/openapi/response-schemas.ts), so a field the
 * schema (and so the OpenAPI document) lacks does not compile.
 */
import type { z } from 'zod';
import type { BindingsHead, ServingRecord } from '../../shared/bindings/model.js';
import type { CoverageReport } from '../../shared/bindings/coverage-report.js';
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
  HostSchema,
  HostsSummarySchema,
  OperationSchema,
} from '../openapi/response-schemas.js';
import { hostBindingsView, hostErrorView, servingSummary, servingView } from './serving-views.js';

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

/** What the resource shows besides the desired state: coverage and the current generation's serving. */
export interface CcsExtras {
  coverage: CoverageReport['summary'];
  /** The hosts' serving checks of the current generation. */
  serving: ServingRecord[];
}

export function ccsView(
  record: CcsRecord,
  hosts: HostRecord[],
  extras: CcsExtras,
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
    coverage: extras.coverage,
    serving: servingSummary(record.generation, extras.serving),
    _links: {
      self: { href: ccsHref(record.ccsId) },
      hosts: { href: `${ccsHref(record.ccsId)}/hosts` },
      coverage: { href: `${ccsHref(record.ccsId)}/coverage` },
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

/** What `/hosts` shows of each host besides its record: bindings and newest serving check. */
export interface HostExtras {
  bindings: BindingsHead | null;
  serving: ServingRecord | null;
}

const NO_EXTRAS: HostExtras = { bindings: null, serving: null };

/** A host's applied state, bindings and newest serving check; its enrolment is added beside it (enrolment-views.ts). */
export function hostView(
  host: HostRecord,
  generation: number,
  extras: HostExtras = NO_EXTRAS,
): Omit<z.output<typeof HostSchema>, 'enrolment'> {
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
    last_error: host.lastError && hostErrorView(host.lastError),
    last_drift: host.lastDriftAt,
    bindings: extras.bindings && hostBindingsView(extras.bindings),
    serving: extras.serving && servingView(extras.serving),
  };
}

/** Items keyed by host name, case-insensitively (as Windows compares host names). */
export const byHost = <T extends { host: string }>(items: readonly T[]): Map<string, T> =>
  new Map(items.map((item) => [item.host.toLowerCase(), item]));

/**
 * An operation as the API shows it. `requested_by` names a person (`entra:<oid>@<tid>`), so it is
 * shown only to the roles the audit log is shown to (write, issue 17): `showRequester`.
 */
export function operationView(
  op: OperationRecord,
  hosts: OperationHostRecord[],
  showRequester: boolean,
  serving: readonly ServingRecord[] = [],
): z.output<typeof OperationSchema> {
  const checks = byHost(serving);
  return {
    id: op.id,
    status: op.status,
    kind: op.kind,
    ccs_id: op.ccsId,
    phase: op.phase,
    generation: op.targetGeneration,
    changed_fields: op.changedFields,
    ...(showRequester ? { requested_by: op.requestedBy } : {}),
    force: op.force ?? false,
    created: op.createdAt,
    updated: op.updatedAt,
    error: op.error,
    hosts: hosts.map((h) => {
      const check = checks.get(h.host.toLowerCase());
      return {
        name: h.host,
        preflight: h.preflight,
        apply: h.apply,
        error: h.error && hostErrorView(h.error),
        serving: check ? servingView(check) : null,
        ...(typeof h.wave === 'number' ? { wave: h.wave } : {}),
      };
    }),
    serving: servingSummary(op.targetGeneration, serving),
    ...(op.rollout ? { rollout: rolloutView(op.rollout) } : {}),
    _links: { self: { href: operationHref(op.id) }, resource: { href: ccsHref(op.ccsId) } },
  };
}

/** The audit kinds that name an operation: the changes, and the requests to a rollout. */
type OperationAuditKind = Exclude<AuditEntry['kind'], 'enrolment-code' | 'host-approval'>;
const ENROLMENT_KINDS = new Set<string>(['enrolment-code', 'host-approval']);
const isOperationKind = (kind: AuditEntry['kind']): kind is OperationAuditKind => !ENROLMENT_KINDS.has(kind);

export function auditView(entries: AuditEntry[]): z.output<typeof AuditLogSchema> {
  return {
    entries: entries.map((e) => ({
      id: e.id,
      at: e.at,
      who: e.who,
      ...(e.whoName ? { who_name: e.whoName } : {}),
      ccs_id: e.ccsId,
      kind: e.kind,
      operation: isOperationKind(e.kind)
        ? { id: e.operationId, kind: e.kind, status: e.status, href: operationHref(e.operationId) }
        : null,
      status: e.status,
      changes: e.changes,
      force: e.force ?? false,
      _links: { resource: { href: ccsHref(e.ccsId) } },
    })),
    _links: { self: { href: `${API}/audit` } },
  };
}
