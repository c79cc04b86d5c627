/**
 * Expiry and coverage telemetry (issue 13): per enabled ccs-id, the bound certificates that expire
 * within CCS_CERTIFICATE_EXPIRY_WARNING_DAYS (or have expired) and the bound host names no file
 * serves, written as structured log events. In Azure each event is a trace in Application
 * Insights whose message is the JSON line; the alert rules of infra/app/alerts.bicep count them
 * per ccs-id and host name. The event names are a contract with those rules: keep them in step.
 */
import type { Logger } from '../log.js';
import type { FleetCoverage } from './coverage-service.js';

/** A bound certificate expiring within the warning days (`daysLeft` < 0: it has expired). */
export const EXPIRING_EVENT = 'ccs.certificate.expiring';
/** A bound host name without a usable file in the share. */
export const UNCOVERED_EVENT = 'ccs.binding.uncovered';
/** One per ccs-id and run: the coverage summary (a metric-like event). */
export const COVERAGE_EVENT = 'ccs.coverage';

/** Events of each kind one ccs-id emits per run at most (a fleet of thousands stays affordable). */
export const EVENTS_PER_KIND = 200;

export class CoverageTelemetry {
  constructor(
    private readonly coverage: { everyFleet(): Promise<FleetCoverage[]> },
    private readonly log: Logger,
  ) {}

  /** Emit the events of every enabled ccs-id; returns how many were written. */
  async run(): Promise<number> {
    let written = 0;
    for (const fleet of await this.coverage.everyFleet()) written += this.emit(fleet);
    return written;
  }

  private emit({ ccsId, report, store }: FleetCoverage): number {
    const expiring = report.names.filter((n) => n.expiring);
    const uncovered = report.names.filter((n) => n.status === 'uncovered');
    for (const name of expiring.slice(0, EVENTS_PER_KIND)) {
      this.log.warn(EXPIRING_EVENT, {
        ccsId,
        hostName: name.name,
        file: name.file?.row.file.name,
        certificateId: name.file?.row.id,
        daysLeft: name.file?.expiresInDays ?? null,
        hosts: new Set(name.boundBy.map((b) => b.host.toLowerCase())).size,
      });
    }
    for (const name of uncovered.slice(0, EVENTS_PER_KIND)) {
      this.log.warn(UNCOVERED_EVENT, {
        ccsId,
        hostName: name.name,
        reason: name.reason,
        hosts: new Set(name.boundBy.map((b) => b.host.toLowerCase())).size,
      });
    }
    this.log.info(COVERAGE_EVENT, {
      ccsId,
      ...report.summary,
      // Coverage computed from an inventory that is not current may be stale: say so.
      inventory: store.lease.lastError === null ? 'ok' : 'failed',
      omitted:
        Math.max(0, expiring.length - EVENTS_PER_KIND) + Math.max(0, uncovered.length - EVENTS_PER_KIND),
    });
    return Math.min(expiring.length, EVENTS_PER_KIND) + Math.min(uncovered.length, EVENTS_PER_KIND) + 1;
  }
}
