/**
 * Every report this host sends is signed with its host key (shared/report-signature.ts), so the
 * API can tell it came from this host: the wiring puts this sink in front of the reports queue,
 * for the loop and the inventory scanner alike.
 */
import type { Report } from '../shared/messages.js';
import { signReport, type ReportSigner } from '../shared/report-signature.js';
import type { ReportSink } from './queue.js';

export class SigningReportSink implements ReportSink {
  constructor(
    private readonly inner: ReportSink,
    private readonly key: ReportSigner,
  ) {}

  send(report: Report): Promise<void> {
    return this.inner.send(signReport(report, this.key));
  }
}
