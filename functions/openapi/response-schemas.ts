/**
 * The API's response bodies as zod schemas: the OpenAPI document is generated from them and
 * the end-to-end tests parse real responses with them, so document and behaviour agree.
 */
import { z } from 'zod';
import { RolloutViewSchema } from './rollout-schemas.js';
import {
  CoverageSummarySchema,
  HostBindingsSchema,
  ServingCheckSchema,
  ServingSummarySchema,
} from './coverage-schemas.js';
import { HostEnrolmentSchema } from './enrolment-schemas.js';

const Link = z.object({ href: z.string() });

export const ErrorBodySchema = z
  .object({
    title: z.string(),
    name: z.string().optional(),
    detail: z.string(),
    status: z.number().int(),
    host_names: z
      .array(z.string())
      .optional()
      .describe(
        'BoundNamesUncovered (409): the bound host names the change would leave without a certificate',
      ),
    hosts: z.array(z.string()).optional().describe('BoundNamesUncovered (409): the hosts that refused it'),
    sites: z
      .array(z.object({ name: z.string(), hosts: z.array(z.string()), host_names: z.array(z.string()) }))
      .optional()
      .describe('SitesUseCcs (409 on DELETE): the sites that still use CCS'),
  })
  .meta({ id: 'Error', description: 'IIS Administration API error shape; `name` is the field at fault.' });

export const HostsSummarySchema = z.object({
  total: z.number().int(),
  applied: z.number().int(),
  pending: z.number().int(),
  failed: z.number().int(),
  reboot_required: z.number().int(),
});

export const CentralizedCertificatesSchema = z
  .object({
    id: z.string(),
    path: z.string().nullable(),
    identity: z.object({ username: z.string().nullable() }),
    status: z.enum(['converged', 'converging', 'degraded']),
    generation: z.number().int(),
    hosts: HostsSummarySchema,
    coverage: CoverageSummarySchema.describe(
      'Bound host names the share covers, does not cover, and whose certificate expires soon',
    ),
    serving: ServingSummarySchema.nullable().describe(
      "The hosts' serving checks of this generation; null before any",
    ),
    _links: z.object({ self: Link, hosts: Link, coverage: Link, last_operation: Link.optional() }),
  })
  .meta({ id: 'CentralizedCertificates' });

export const CentralizedCertificatesListSchema = z
  .object({
    'centralized-certificates': z.array(
      z.object({ id: z.string(), path: z.string().nullable(), _links: z.object({ self: Link }) }),
    ),
  })
  .meta({ id: 'CentralizedCertificatesList' });

const HostErrorBody = z.object({
  name: z.string(),
  code: z.string(),
  detail: z.string(),
  status: z.number().int(),
  host_names: z.array(z.string()).optional().describe('BoundNamesUncovered: the host names at stake'),
});

export const HostSchema = z.object({
  name: z.string(),
  status: z.enum(['applied', 'pending', 'failed', 'reboot_required']),
  applied_generation: z.number().int(),
  desired_generation: z.number().int(),
  actual: z
    .object({
      enabled: z.boolean(),
      path: z.string().nullable(),
      username: z.string().nullable(),
      reboot_required: z.boolean(),
    })
    .nullable(),
  agent: z.object({ version: z.string(), backend: z.string() }),
  last_seen: z.string(),
  last_error: HostErrorBody.nullable(),
  last_drift: z.string().nullable(),
  bindings: HostBindingsSchema.nullable().describe('Null until the host reported its bindings'),
  serving: ServingCheckSchema.nullable().describe("The host's newest serving check; null before any"),
  /** Whether the API folds this host's reports (issue 17). */
  enrolment: HostEnrolmentSchema,
});

export const HostListSchema = z
  .object({
    id: z.string(),
    desired_generation: z.number().int(),
    hosts: z.array(HostSchema),
    _links: z.object({ self: Link, resource: Link }),
  })
  .meta({ id: 'HostList' });

const StepStatus = z.enum(['pending', 'succeeded', 'failed', 'superseded', 'unreachable', 'skipped']);

export const OperationSchema = z
  .object({
    id: z.string(),
    status: z.enum(['NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled']),
    kind: z.enum(['enable', 'update', 'disable', 'rotate']),
    ccs_id: z.string(),
    phase: z.enum([
      'staging',
      'preflight',
      'committing',
      'apply',
      'waves',
      'halted',
      'rollback',
      'reencrypting',
      'done',
    ]),
    generation: z.number().int(),
    changed_fields: z.array(z.string()),
    requested_by: z
      .string()
      .optional()
      .describe('Who asked (`access-token:<name>` or `entra:<oid>@<tid>`); shown to write-role callers only'),
    force: z.boolean().describe('Made with ?force=true'),
    created: z.string(),
    updated: z.string(),
    error: z
      .object({
        code: z.string(),
        message: z.string(),
        target: z.string().nullable(),
        status: z.number().int(),
      })
      .nullable(),
    hosts: z.array(
      z.object({
        name: z.string(),
        preflight: StepStatus,
        apply: StepStatus,
        error: HostErrorBody.nullable(),
        wave: z.number().int().optional().describe("The host's wave, when the operation runs a rollout"),
        serving: ServingCheckSchema.nullable().describe(
          "The host's serving check after this operation's apply",
        ),
      }),
    ),
    serving: ServingSummarySchema.nullable().describe(
      "This operation's serving checks summed; null before any",
    ),
    rollout: RolloutViewSchema.optional().describe('Present when the change ran under a rollout policy'),
    _links: z.object({ self: Link, resource: Link }),
  })
  .meta({ id: 'Operation', description: 'Azure long-running operation status with per-host results.' });

const AuditValue = z.union([z.string(), z.boolean(), z.null()]);

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    who: z.string().describe('`access-token:<name>` or `entra:<object id>@<tenant id>`'),
    who_name: z
      .string()
      .optional()
      .describe("The caller's display name (Entra tokens), beside the stable `who`"),
    ccs_id: z.string(),
    kind: z
      .enum([
        'enable',
        'update',
        'disable',
        'rotate',
        'enrolment-code',
        'host-approval',
        'rollout.resume',
        'rollout.rollback',
        'rollout.cancel',
      ])
      .describe(
        'A change or a request to a rollout (with its operation), or an enrolment action (no operation)',
      ),
    operation: z
      .object({
        id: z.string(),
        kind: z.enum([
          'enable',
          'update',
          'disable',
          'rotate',
          'rollout.resume',
          'rollout.rollback',
          'rollout.cancel',
        ]),
        status: z.enum(['NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled']),
        href: z.string(),
      })
      .nullable(),
    /** Enrolment actions: whether the action took place. */
    status: z.enum(['NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled']),
    changes: z.array(
      z.object({
        field: z.string(),
        from: AuditValue.describe('A secret field shows `{HIDDEN}`, never a value'),
        to: AuditValue,
      }),
    ),
    force: z.boolean().describe('Made with ?force=true (sites could lose their certificates)'),
    _links: z.object({ resource: Link }),
  })
  .meta({
    id: 'AuditEntry',
    description: 'One accepted change or enrolment action: who, when, what changed, and its outcome.',
  });

export const AuditLogSchema = z
  .object({ entries: z.array(AuditEntrySchema), _links: z.object({ self: Link }) })
  .meta({ id: 'AuditLog', description: 'Accepted changes and enrolment actions, newest first.' });

export const OpenApiDocumentSchema = z
  .looseObject({
    openapi: z.string(),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'OpenApiDocument', description: 'An OpenAPI 3.1 document (this one).' });
