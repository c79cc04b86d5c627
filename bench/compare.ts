/**
 * The figures of this run beside the old ones (issue 18: "`npm run bench` reports the new
 * figures beside the old ones"): the committed starting point (bench/baseline.json, the run the
 * issue was measured against) and, when there is one, the previous run on this machine (the
 * result files this run is about to replace). Counts compare across machines; times only on
 * the same machine at a similar load (each result file records its load average).
 */
import type { FleetResult } from './fleet.js';
import type { IdleResult } from './idle.js';
import { markdownTable as table, seconds as s } from './support/stats.js';

export interface FleetFigures {
  hosts: number;
  change: string;
  p99Ms: number;
  agentOpsPerHost: number;
  apiOpsPerHost: number;
  apiCpuMsPerHost?: number;
}

export interface IdleFigures {
  requestsPerHostHour: number;
  agentPerHostHour: number;
  apiPerHostHour: number;
  apiPerHello: number;
}

export interface Figures {
  /** Where the figures come from (a commit, a date). */
  label: string;
  fleet: FleetFigures[];
  idle: IdleFigures | null;
}

export function fleetFigures(fleet: FleetResult | undefined): FleetFigures[] {
  return (fleet?.sizes ?? []).flatMap((size) =>
    size.changes.map((c) => ({
      hosts: size.hosts,
      change: c.change,
      p99Ms: c.p99Ms,
      agentOpsPerHost: c.agentOpsPerHost,
      apiOpsPerHost: c.apiOpsPerHost,
      apiCpuMsPerHost: c.apiCpuMsPerHost,
    })),
  );
}

export function idleFigures(idle: IdleResult | undefined): IdleFigures | null {
  if (!idle) return null;
  return {
    requestsPerHostHour: idle.requestsPerHostHour,
    agentPerHostHour: idle.agent.requests,
    apiPerHostHour: idle.api.requests,
    apiPerHello: idle.api.perHello,
  };
}

const arrow = (old: number | undefined, now: number, show: (n: number) => string = String): string =>
  old === undefined ? show(now) : `${show(old)} → ${show(now)}`;
const ms = (n: number) => s(n);
const opt = (n: number | undefined) => (n === undefined ? '–' : String(n));

/** Markdown: this run's figures beside each earlier set that has the same rows; '' when none do. */
export function comparisonMarkdown(now: Omit<Figures, 'label'>, earlier: Figures[]): string {
  const out: string[] = [];
  for (const old of earlier) {
    const rows: string[][] = [];
    for (const f of now.fleet) {
      const o = old.fleet.find((x) => x.hosts === f.hosts && x.change === f.change);
      if (!o) continue;
      rows.push([
        String(f.hosts),
        f.change,
        arrow(o.p99Ms, f.p99Ms, ms),
        arrow(o.agentOpsPerHost, f.agentOpsPerHost),
        arrow(o.apiOpsPerHost, f.apiOpsPerHost),
        arrow(round2(o.agentOpsPerHost + o.apiOpsPerHost), round2(f.agentOpsPerHost + f.apiOpsPerHost)),
        `${opt(o.apiCpuMsPerHost)} → ${opt(f.apiCpuMsPerHost)}`,
      ]);
    }
    if (rows.length > 0) {
      out.push(
        `Fleet, ${old.label} → this run:`,
        '',
        table(
          ['hosts', 'change', 'p99', 'agent ops/host', 'API ops/host', 'agent + API', 'API CPU ms/host'],
          rows,
        ),
        '',
      );
    }
    if (now.idle && old.idle) {
      const [o, n] = [old.idle, now.idle];
      out.push(
        `Idle, ${old.label} → this run:`,
        '',
        table(
          ['requests/host/hour', 'agent', 'API', 'API per hello'],
          [
            [
              arrow(o.requestsPerHostHour, n.requestsPerHostHour),
              arrow(o.agentPerHostHour, n.agentPerHostHour),
              arrow(o.apiPerHostHour, n.apiPerHostHour),
              arrow(o.apiPerHello, n.apiPerHello),
            ],
          ],
        ),
        '',
      );
    }
  }
  return out.length > 0 ? `### Beside the old figures\n\n${out.join('\n')}` : '';
}

const round2 = (n: number) => Math.round(n * 100) / 100;
