/**
 * The console's reading of the coverage answer (console/src/coverage-shape.ts), on a body of the
 * shape issue 13's route answers with (api13's `Coverage` schema), for the local stack's demo
 * sites: an exact file, a wildcard, an expired certificate, a name without a file.
 */
import { describe, expect, it } from 'vitest';
import { readCoverage } from '../../console/src/coverage-shape.js';

const binding = (host: string, site: string, hostName: string) => ({
  host,
  site,
  host_name: hostName,
  port: 443,
  ip: '*',
  sni: true,
});
const cert = (alias: string, problems: string[] = []) => ({
  alias,
  id: `id-${alias}`,
  thumbprint: null,
  valid_to: null,
  expires_in_days: null,
  problems: problems.map((code) => ({ code, detail: code })),
  _links: { self: { href: `/api/certificates/id-${alias}` } },
});
const name = (
  hostName: string,
  file: ReturnType<typeof cert> | null,
  hosts: string[],
  reason: string | null = null,
) => ({
  host_name: hostName,
  status: file && !reason ? 'covered' : 'uncovered',
  reason,
  certificate: file,
  expiring: false,
  bound_by: hosts.map((h) => binding(h, 'Default Web Site', hostName)),
  bound_by_total: hosts.length,
});

const BODY = {
  id: 'default',
  summary: { covered: 3, uncovered: 1, expiring: 1 },
  inventory: { status: 'current', last_scan: '2026-12-02T08:00:00Z' },
  names: [
    name('expired.contoso.com', cert('expired.contoso.com.pfx', ['expired']), ['web-02', 'web-01', 'web-01']),
    name('shop.contoso.com', cert('_.contoso.com.pfx'), ['web-01']),
    name('www.contoso.com', cert('www.contoso.com.pfx'), ['web-01', 'web-02']),
    name('www.fabrikam.com', null, ['web-02'], 'no_file'),
  ],
  unnamed_bindings: [binding('web-01', 'Intranet', '')],
  unnamed_total: 1,
  unused: [cert('old.contoso.com.pfx')],
  _links: { self: { href: '' }, resource: { href: '' }, store: { href: '' } },
};

describe('the console reads the coverage answer', () => {
  it('as one row per bound name, uncovered first, with the file, problems and the hosts that bind it', () => {
    const coverage = readCoverage(BODY);
    expect(coverage?.rows).toEqual([
      { name: 'www.fabrikam.com', file: null, status: 'uncovered', problems: ['no_file'], hosts: ['web-02'] },
      {
        name: 'expired.contoso.com',
        file: 'expired.contoso.com.pfx',
        status: 'covered',
        problems: ['expired'],
        hosts: ['web-01', 'web-02'],
      },
      {
        name: 'shop.contoso.com',
        file: '_.contoso.com.pfx',
        status: 'covered',
        problems: [],
        hosts: ['web-01'],
      },
      {
        name: 'www.contoso.com',
        file: 'www.contoso.com.pfx',
        status: 'covered',
        problems: [],
        hosts: ['web-01', 'web-02'],
      },
    ]);
    expect(coverage?.unusedFiles).toEqual(['old.contoso.com.pfx']);
    expect(coverage?.summary).toEqual({ covered: 3, uncovered: 1, expiring: 1 });
  });

  it('refuses a body of another shape (shown raw rather than misread)', () => {
    expect(readCoverage({ names: [{ name: 'www.contoso.com' }] })).toBeNull();
    expect(readCoverage(null)).toBeNull();
    expect(readCoverage({ ...BODY, names: [{ host_name: 'x' }] })).toBeNull();
  });
});
