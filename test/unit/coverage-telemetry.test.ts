/** The expiry and coverage events (shared/services/coverage-telemetry.ts) the Azure alert rules count. */
import { describe, expect, it } from 'vitest';
import { coverageReport } from '../../shared/bindings/coverage-report.js';
import { emptyBindingsHead } from '../../shared/bindings/model.js';
import { jsonLineLogger } from '../../shared/log.js';
import type { CcsBinding } from '../../shared/messages.js';
import type { FleetCoverage } from '../../shared/services/coverage-service.js';
import {
  COVERAGE_EVENT,
  CoverageTelemetry,
  EVENTS_PER_KIND,
  EXPIRING_EVENT,
  UNCOVERED_EVENT,
} from '../../shared/services/coverage-telemetry.js';
import type { CertificateEntry, StoreState } from '../../shared/services/inventory-service.js';

const binding = (hostName: string): CcsBinding => ({
  site: 'Contoso',
  hostName,
  port: 443,
  ip: '*',
  sni: true,
});
const file = (name: string, expiresInDays: number) =>
  ({
    row: { id: `id-${name}`, file: { name, certificate: null } },
    expiresInDays,
    problems: [],
  }) as unknown as CertificateEntry;
const store = { lease: { lastError: null } } as unknown as StoreState;

function fleet(ccsId: string, names: string[], files: CertificateEntry[]): FleetCoverage {
  const hosts = ['web-01', 'web-02'].map((host) => ({
    head: emptyBindingsHead(ccsId, host),
    bindings: names.map(binding),
  }));
  return { ccsId, report: coverageReport(hosts, files, 30), store };
}

async function eventsOf(fleets: FleetCoverage[]) {
  const lines: Record<string, unknown>[] = [];
  const telemetry = new CoverageTelemetry(
    { everyFleet: () => Promise.resolve(fleets) },
    jsonLineLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
  );
  const written = await telemetry.run();
  expect(written).toBe(lines.length);
  return lines;
}

describe('CoverageTelemetry', () => {
  it('emits an event per expiring bound certificate and per uncovered name, with ccs-id, host name and days left', async () => {
    const lines = await eventsOf([
      fleet(
        'farm-a',
        ['www.contoso.com', 'shop.contoso.com', 'www.fabrikam.com'],
        [file('www.contoso.com.pfx', 12), file('_.contoso.com.pfx', 400)],
      ),
    ]);
    expect(lines.filter((l) => l.msg === EXPIRING_EVENT)).toEqual([
      expect.objectContaining({
        level: 'warn',
        ccsId: 'farm-a',
        hostName: 'www.contoso.com',
        file: 'www.contoso.com.pfx',
        certificateId: 'id-www.contoso.com.pfx',
        daysLeft: 12,
        hosts: 2,
      }),
    ]);
    expect(lines.filter((l) => l.msg === UNCOVERED_EVENT)).toEqual([
      expect.objectContaining({ ccsId: 'farm-a', hostName: 'www.fabrikam.com', hosts: 2 }),
    ]);
    expect(lines.find((l) => l.msg === COVERAGE_EVENT)).toMatchObject({
      ccsId: 'farm-a',
      covered: 2,
      uncovered: 1,
      expiring: 1,
      omitted: 0,
    });
  });

  it('emits nothing but the summary for a fleet without bindings, and bounds the events of a huge one', async () => {
    expect((await eventsOf([fleet('quiet', [], [])])).map((l) => l.msg)).toEqual([COVERAGE_EVENT]);
    const many = Array.from({ length: EVENTS_PER_KIND + 50 }, (_, i) => `s${i}.example.com`);
    const lines = await eventsOf([fleet('huge', many, [])]);
    expect(lines.filter((l) => l.msg === UNCOVERED_EVENT)).toHaveLength(EVENTS_PER_KIND);
    expect(lines.find((l) => l.msg === COVERAGE_EVENT)).toMatchObject({
      uncovered: EVENTS_PER_KIND + 50,
      omitted: 50,
    });
  });
});
