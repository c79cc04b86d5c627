/**
 * Response schemas of issue 13's additions: coverage per ccs-id, bindings and serving checks per
 * host, their summaries in the resource and the operation (functions/http/coverage-views.ts).
 */
import { z } from 'zod';
import { ProblemSchema } from './certificate-schemas.js';

const Link = z.object({ href: z.string() });
const Thumbprint = z.string().nullable();

export const ServingCountsSchema = z.object({
  ok: z.number().int(),
  mismatch: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
});

export const ServingResultSchema = z
  .object({
    site: z.string(),
    host_name: z.string().describe('As configured in IIS (Unicode stays Unicode)'),
    port: z.number().int(),
    ip: z.string().describe('`*` for all unassigned addresses; IPv6 without brackets'),
    status: z.enum(['ok', 'mismatch', 'failed', 'skipped']),
    detail: z.string(),
    file: z.string().nullable().describe('The share file IIS serves the name from; null when none'),
    expected: Thumbprint.describe("That file's certificate thumbprint"),
    served: Thumbprint.describe('The thumbprint the TLS handshake returned; null when none'),
  })
  .meta({
    id: 'ServingResult',
    description: 'One binding of the serving check: a real TLS handshake with SNI.',
  });

export const ServingCheckSchema = z
  .object({
    generation: z.number().int(),
    operation_id: z
      .string()
      .nullable()
      .describe('The operation whose apply ran it; null for a catch-up apply'),
    at: z.string(),
    counts: ServingCountsSchema.describe('Every binding of the host'),
    results: z.array(ServingResultSchema).describe('The worst first, at most 20'),
    omitted: z.number().int().describe('Results not listed'),
  })
  .meta({ id: 'ServingCheck', description: "A host's serving check after an apply." });

/** The serving checks of a fleet summed: hosts that reported one, and the bindings by status. */
export const ServingSummarySchema = ServingCountsSchema.extend({
  generation: z.number().int(),
  hosts: z.number().int().describe('Hosts whose check of this generation arrived'),
}).meta({ id: 'ServingSummary' });

export const HostBindingsSchema = z
  .object({
    total: z.number().int(),
    digest: z.string().nullable(),
    read_at: z.string().nullable().describe('When the agent read the list'),
    error: z
      .object({ name: z.string(), code: z.string(), detail: z.string(), status: z.number().int() })
      .nullable()
      .describe('Why the last read failed (the list known before is kept)'),
  })
  .meta({ id: 'HostBindings', description: 'What a host reported of its CCS bindings.' });

export const CoverageSummarySchema = z
  .object({
    covered: z.number().int(),
    uncovered: z.number().int(),
    expiring: z
      .number()
      .int()
      .describe('Covered names whose certificate expires within the warning days (or expired)'),
  })
  .meta({ id: 'CoverageSummary' });

const BindingRef = z.object({
  host: z.string(),
  site: z.string(),
  host_name: z.string(),
  port: z.number().int(),
  ip: z.string(),
  sni: z.boolean(),
});

const CertificateRef = z.object({
  alias: z.string(),
  id: z.string(),
  thumbprint: z.string().nullable(),
  valid_to: z.string().nullable(),
  expires_in_days: z.number().int().nullable(),
  problems: z.array(ProblemSchema),
  _links: z.object({ self: Link }),
});

export const CoverageSchema = z
  .object({
    id: z.string(),
    summary: CoverageSummarySchema,
    inventory: z.object({
      status: z.enum(['current', 'scanning', 'failed', 'no_scanner']),
      last_scan: z.string().nullable(),
    }),
    names_total: z
      .number()
      .int()
      .describe('Names (of the `status` asked for) in all; at most 1000 are listed'),
    names: z.array(
      z.object({
        host_name: z.string().describe('As IIS looks it up: ASCII (punycode), lower case'),
        status: z.enum(['covered', 'uncovered']),
        reason: z.string().nullable(),
        certificate: CertificateRef.nullable().describe('The file IIS serves the name from; null when none'),
        expiring: z.boolean(),
        bound_by: z.array(BindingRef).describe('At most 50'),
        bound_by_total: z.number().int(),
      }),
    ),
    unnamed_bindings: z.array(BindingRef).describe('CCS bindings without a host name: at most 100'),
    unnamed_total: z.number().int(),
    unused: z.array(CertificateRef).describe('Files of the share no bound name is served from'),
    _links: z.object({ self: Link, resource: Link, store: Link }),
  })
  .meta({ id: 'Coverage', description: 'Which share file serves each CCS-bound host name.' });
