/**
 * Serving checks, bindings and host errors as the API shows them (schemas:
 * functions/openapi/coverage-schemas.ts). A leaf module: views.ts and coverage-views.ts use it.
 */
import type { z } from 'zod';
import type { BindingsHead, ServingRecord } from '../../shared/bindings/model.js';
import type { HostError } from '../../shared/messages.js';
import type {
  HostBindingsSchema,
  ServingCheckSchema,
  ServingSummarySchema,
} from '../openapi/coverage-schemas.js';

/** Results one serving check shows (the worst first; `omitted` counts the rest). */
const SHOWN_RESULTS = 20;

export interface HostErrorView {
  name: string;
  code: string;
  detail: string;
  status: number;
  host_names?: string[];
}

/** A host's error as the API shows it (snake_case; the host names of BoundNamesUncovered). */
export function hostErrorView(error: HostError): HostErrorView {
  const { hostNames, ...rest } = error;
  return hostNames ? { ...rest, host_names: hostNames } : rest;
}

export function servingView(record: ServingRecord): z.output<typeof ServingCheckSchema> {
  const shown = record.results.slice(0, SHOWN_RESULTS);
  return {
    generation: record.generation,
    operation_id: record.operationId,
    at: record.at,
    counts: record.counts,
    results: shown.map((r) => ({
      site: r.site,
      host_name: r.hostName,
      port: r.port,
      ip: r.ip,
      status: r.status,
      detail: r.detail,
      file: r.file,
      expected: r.expected,
      served: r.served,
    })),
    omitted: record.omitted + record.results.length - shown.length,
  };
}

/** Checks summed over hosts; null when there is none. */
export function servingSummary(
  generation: number,
  records: readonly ServingRecord[],
): z.output<typeof ServingSummarySchema> | null {
  if (records.length === 0) return null;
  const sum = { generation, hosts: records.length, ok: 0, mismatch: 0, failed: 0, skipped: 0 };
  for (const r of records) {
    sum.ok += r.counts.ok;
    sum.mismatch += r.counts.mismatch;
    sum.failed += r.counts.failed;
    sum.skipped += r.counts.skipped;
  }
  return sum;
}

export function hostBindingsView(head: BindingsHead): z.output<typeof HostBindingsSchema> {
  return {
    total: head.total,
    digest: head.digest,
    read_at: head.at,
    error: head.error && {
      name: head.error.name,
      code: head.error.code,
      detail: head.error.detail,
      status: head.error.status,
    },
  };
}
