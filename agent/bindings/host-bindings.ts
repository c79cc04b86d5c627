/**
 * What the agent loop does with this host's CCS bindings (docs/agent.md, "Bindings"):
 *
 * - `snapshot`: the bindings for a `hello` or `result` report — inline when short, else by digest
 *   with the `bindings` report chunks to send first;
 * - `changes`: on the drift tick, the `bindings` reports to send when the list differs from the
 *   one last sent (a read error counts as a list: it is reported once, not every minute);
 * - `checkServing`: after an apply, the serving check of every binding (agent/serving/).
 *
 * Reading costs two `stat` calls when nothing changed (agent/bindings/config-reader.ts). Nothing
 * here throws: a configuration that cannot be read becomes a `BindingsUnreadable` error in the
 * summary, and a serving check that could not run is left out of the report (and logged).
 */
import type { BindingsReport, BindingsSummary, CcsBinding, ServingCheck } from '../../shared/messages.js';
import type { Backend } from '../backends/backend.js';
import type { Logger } from '../log.js';
import { bindingsReports, type ReportContext } from '../reports.js';
import type { SecretCache } from '../secrets.js';
import { checkServing, type ServingCheckDeps } from '../serving/check.js';
import type { StateStore } from '../state.js';
import { appliedStore } from './applied-store.js';
import { planBindings, servingCheck, type BindingsRead } from './summary.js';

export interface HostBindingsDeps {
  backend: Backend;
  state: StateStore;
  secrets: SecretCache;
  environment: Record<string, string | undefined>;
  log: Logger;
  serving: Omit<ServingCheckDeps, 'backend'>;
}

export interface BindingsSnapshot {
  summary: BindingsSummary;
  /** To send before the report that carries `summary` (a list too long to go inline). */
  reports: BindingsReport[];
  /** The list read, or null when it could not be read. */
  bindings: CcsBinding[] | null;
}

export class HostBindings {
  /** The digest last sent to the API; undefined until something was sent. */
  private sentDigest: string | null | undefined;

  constructor(
    private readonly deps: HostBindingsDeps,
    private readonly ctx: ReportContext,
  ) {}

  /** The list, or why IIS's configuration could not be read. */
  async read(): Promise<BindingsRead> {
    try {
      return { bindings: (await this.deps.backend.readBindings?.()) ?? [] };
    } catch (error) {
      const message = error instanceof Error ? error.message : 'unknown error';
      return {
        error: {
          name: 'host',
          code: 'BindingsUnreadable',
          detail: `IIS's site bindings could not be read: ${message}`.slice(0, 1024),
          status: 500,
        },
      };
    }
  }

  async snapshot(appliedGeneration: number): Promise<BindingsSnapshot> {
    const read = await this.read();
    const plan = planBindings(read);
    return {
      summary: plan.summary,
      reports: plan.chunks.length > 0 ? this.reports(plan.summary, plan.chunks, appliedGeneration) : [],
      bindings: 'bindings' in read ? read.bindings : null,
    };
  }

  /** Record that a report carrying `summary` reached the reports queue. */
  sent(summary: BindingsSummary): void {
    this.sentDigest = summary.digest;
  }

  /** The `bindings` reports to send because the list changed since it was last sent; none otherwise. */
  async changes(appliedGeneration: number): Promise<{ summary: BindingsSummary; reports: BindingsReport[] }> {
    const plan = planBindings(await this.read());
    if (plan.summary.digest === this.sentDigest) return { summary: plan.summary, reports: [] };
    const chunks = plan.chunks.length > 0 ? plan.chunks : [plan.summary.items ?? []];
    return { summary: plan.summary, reports: this.reports(plan.summary, chunks, appliedGeneration) };
  }

  /** The serving check of `bindings` against the store this host applied; undefined if it could not run. */
  async checkServing(bindings: readonly CcsBinding[]): Promise<ServingCheck | undefined> {
    const { backend, state, secrets, environment, log } = this.deps;
    try {
      const store = await appliedStore((await state.load()).desired, secrets, environment);
      const results = await checkServing(bindings, store, { ...this.deps.serving, backend });
      const check = servingCheck(results, this.ctx.now());
      log.info('serving check done', { ...check.counts });
      return check;
    } catch (error) {
      log.error('serving check could not run', { error: error instanceof Error ? error.message : 'unknown' });
      return undefined;
    }
  }

  private reports(
    summary: BindingsSummary,
    chunks: CcsBinding[][],
    appliedGeneration: number,
  ): BindingsReport[] {
    return bindingsReports(this.ctx, { summary, chunks, appliedGeneration });
  }
}
