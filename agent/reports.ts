/**
 * Report builders. Every report is checked against ReportSchema before it is sent: a bug here
 * fails loudly on the host instead of poisoning the API's reports queue. Reports carry actual
 * state, generations and HostErrors — never a secret value or reference resolution.
 */
import {
  MESSAGE_VERSION,
  ReportSchema,
  type ActualState,
  type BindingsReport,
  type BindingsSummary,
  type CcsBinding,
  type Command,
  type DriftReport,
  type HelloReport,
  type HostError,
  type HostPublicKey,
  type Report,
  type ResultReport,
  type ServingCheck,
} from '../shared/messages.js';

export interface ReportContext {
  ccsId: string;
  hostName: string;
  now: () => Date;
}

const header = (ctx: ReportContext) => ({
  v: MESSAGE_VERSION as typeof MESSAGE_VERSION,
  ccsId: ctx.ccsId,
  host: ctx.hostName,
});

function checked<T extends Report>(report: T): T {
  return ReportSchema.parse(report) as T;
}

export function helloReport(
  ctx: ReportContext,
  fields: {
    agentVersion: string;
    backend: string;
    actual: ActualState;
    appliedGeneration: number;
    bindings?: BindingsSummary;
    hostKey?: HostPublicKey;
    enrolmentProof?: string;
  },
): HelloReport {
  return checked({ ...header(ctx), type: 'hello', ...fields, at: ctx.now().toISOString() });
}

export function resultReport(
  ctx: ReportContext,
  command: Command,
  fields: {
    outcome: ResultReport['outcome'];
    error: HostError | null;
    actual: ActualState | null;
    appliedGeneration: number;
    bindings?: BindingsSummary;
    serving?: ServingCheck;
  },
): ResultReport {
  return checked({
    ...header(ctx),
    type: 'result',
    operationId: command.operationId,
    phase: command.type,
    generation: command.generation,
    ...fields,
    at: ctx.now().toISOString(),
  });
}

/**
 * An error of this host, tied to no operation: a refused command. Nothing of the refused message
 * is in it (its operation, type and generation are unverified): the generations are this host's
 * own, so the API records the error on the host row (`last_error`) and touches no operation.
 */
export function hostErrorReport(
  ctx: ReportContext,
  fields: { error: HostError; appliedGeneration: number },
): ResultReport {
  return checked({
    ...header(ctx),
    type: 'result',
    operationId: null,
    phase: 'apply',
    generation: fields.appliedGeneration,
    outcome: 'failed',
    error: fields.error,
    actual: null,
    appliedGeneration: fields.appliedGeneration,
    at: ctx.now().toISOString(),
  });
}

export function driftReport(
  ctx: ReportContext,
  fields: {
    generation: number;
    found: ActualState;
    actual: ActualState;
    repaired: boolean;
    error: HostError | null;
    appliedGeneration: number;
  },
): DriftReport {
  return checked({ ...header(ctx), type: 'drift', ...fields, at: ctx.now().toISOString() });
}

/** The `bindings` reports of one list (agent/bindings/summary.ts decides the chunks). */
export function bindingsReports(
  ctx: ReportContext,
  fields: { summary: BindingsSummary; chunks: CcsBinding[][]; appliedGeneration: number },
): BindingsReport[] {
  const { summary, chunks, appliedGeneration } = fields;
  const at = ctx.now().toISOString();
  return chunks.map((bindings, index) =>
    checked({
      ...header(ctx),
      type: 'bindings',
      digest: summary.digest,
      total: summary.total,
      chunk: { index, count: chunks.length },
      bindings,
      error: summary.error,
      appliedGeneration,
      at,
    }),
  );
}
