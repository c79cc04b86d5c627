/**
 * The certificates API's rules without storage: CCS naming, problems, ids, the scanner election
 * (nextScan), `fields=` and `Range: certificates=a-b`.
 */
import { describe, expect, it } from 'vitest';
import {
  certificateIdOf,
  expiresInDays,
  fileNameMatches,
  hostNameOfFile,
  nameCovers,
  problemsOf,
  storeIdOf,
  windowsBuild,
} from '../../shared/certificates/rules.js';
import type { InventoryFile } from '../../shared/certificates/metadata.js';
import { emptyLease, type InventoryLease } from '../../shared/model.js';
import { nextScan, type InventoryOptions } from '../../shared/services/inventory-service.js';
import type { CcsRecord, HostRecord } from '../../shared/model.js';
import { fieldSelection } from '../../functions/http/certificate-views.js';
import { parseRange } from '../../functions/http/certificates.js';

const NOW = new Date('2026-06-01T00:00:00Z');

function file(
  name: string,
  overrides: Partial<NonNullable<InventoryFile['certificate']>> = {},
): InventoryFile {
  return {
    name,
    size: 100,
    modified: '2026-01-01T00:00:00.000Z',
    certificate: {
      thumbprint: 'A'.repeat(40),
      subject: 'CN=www.contoso.com',
      issuer: 'CN=CA',
      commonName: 'www.contoso.com',
      serialNumber: '01',
      signatureAlgorithm: 'sha256RSA',
      validFrom: '2026-01-01T00:00:00Z',
      validTo: '2027-01-01T00:00:00Z',
      version: 3,
      intendedPurposes: ['Server Authentication'],
      subjectAlternativeNames: ['DNS Name=www.contoso.com'],
      alternativeNamesTruncated: false,
      publicKey: { algorithm: 'RSA', size: 2048, curve: null },
      ...overrides,
    },
    pfx: {
      certificateEncryption: 'pbe-sha1-3des',
      keyEncryption: 'pbe-sha1-3des',
      mac: 'sha1',
      iterations: 2048,
      certificates: 1,
      hasPrivateKey: true,
    },
    error: null,
  };
}

const codes = (f: InventoryFile, legacyHosts: string[] = [], warningDays = 30) =>
  problemsOf(f, { now: NOW, warningDays, legacyHosts }).map((p) => p.code);

describe('CCS naming rules', () => {
  it('maps file names to host names, _ standing for *', () => {
    expect(hostNameOfFile('www.contoso.com.pfx')).toBe('www.contoso.com');
    expect(hostNameOfFile('WWW.Contoso.COM.PFX')).toBe('www.contoso.com');
    expect(hostNameOfFile('_.contoso.com.pfx')).toBe('*.contoso.com');
    expect(hostNameOfFile('www.contoso.com.cer')).toBeNull();
    expect(hostNameOfFile('.pfx')).toBeNull();
  });

  it('covers a host name by an exact or a one-label wildcard name', () => {
    expect(nameCovers('www.contoso.com', 'WWW.contoso.com')).toBe(true);
    expect(nameCovers('*.contoso.com', 'www.contoso.com')).toBe(true);
    expect(nameCovers('*.contoso.com', '*.contoso.com')).toBe(true);
    expect(nameCovers('*.contoso.com', 'a.b.contoso.com')).toBe(false);
    expect(nameCovers('*.contoso.com', 'contoso.com')).toBe(false);
    expect(nameCovers('www.contoso.com', '*.contoso.com')).toBe(false);
  });

  it('checks the file name against the SAN DNS names, the CN only without them', () => {
    expect(fileNameMatches(file('www.contoso.com.pfx'))).toBe(true);
    expect(fileNameMatches(file('shop.contoso.com.pfx'))).toBe(false);
    const wildcard = file('_.contoso.com.pfx', {
      commonName: '*.contoso.com',
      subjectAlternativeNames: ['DNS Name=*.contoso.com', 'DNS Name=contoso.com'],
    });
    expect(fileNameMatches(wildcard)).toBe(true);
    expect(fileNameMatches({ ...wildcard, name: 'contoso.com.pfx' })).toBe(true);
    expect(fileNameMatches({ ...wildcard, name: 'shop.contoso.com.pfx' })).toBe(true);
    // A CN that the SANs do not list does not count.
    expect(fileNameMatches(file('legacy.contoso.com.pfx', { commonName: 'legacy.contoso.com' }))).toBe(false);
    expect(
      fileNameMatches(
        file('legacy.contoso.com.pfx', { commonName: 'legacy.contoso.com', subjectAlternativeNames: [] }),
      ),
    ).toBe(true);
  });
});

describe('problems', () => {
  it('none for a valid, well-named certificate', () => {
    expect(codes(file('www.contoso.com.pfx'))).toEqual([]);
  });

  it('expired, expiring within the window, not yet valid', () => {
    expect(codes(file('www.contoso.com.pfx', { validTo: '2026-05-31T00:00:00Z' }))).toEqual(['expired']);
    expect(codes(file('www.contoso.com.pfx', { validTo: '2026-06-20T00:00:00Z' }))).toEqual(['expiring']);
    expect(codes(file('www.contoso.com.pfx', { validTo: '2026-06-20T00:00:00Z' }), [], 10)).toEqual([]);
    expect(codes(file('www.contoso.com.pfx', { validFrom: '2026-07-01T00:00:00Z' }))).toEqual([
      'not_yet_valid',
    ]);
    expect(expiresInDays('2026-06-20T00:00:00Z', NOW)).toBe(19);
    expect(expiresInDays('2026-05-31T12:00:00Z', NOW)).toBe(-1);
    expect(expiresInDays(null, NOW)).toBeNull();
  });

  it('a name mismatch, and the file errors the agent reported', () => {
    expect(codes(file('shop.contoso.com.pfx'))).toEqual(['name_mismatch']);
    const wrong: InventoryFile = {
      ...file('www.contoso.com.pfx'),
      certificate: null,
      pfx: null,
      error: { code: 'wrong_password', detail: 'x' },
    };
    expect(codes(wrong)).toEqual(['wrong_password']);
  });

  it('no private key', () => {
    const f = file('www.contoso.com.pfx');
    expect(codes({ ...f, pfx: { ...f.pfx!, hasPrivateKey: false } })).toEqual(['no_private_key']);
  });

  it('PBES2/AES only when the fleet has hosts older than Windows Server 2019 / 1709', () => {
    const f = file('www.contoso.com.pfx');
    const aes = {
      ...f,
      pfx: { ...f.pfx!, certificateEncryption: 'pbes2-aes-256-cbc', keyEncryption: 'pbes2-aes-256-cbc' },
    };
    expect(codes(aes)).toEqual([]);
    expect(codes(aes, ['web-2016'])).toEqual(['encryption_unsupported_by_hosts']);
    expect(codes(f, ['web-2016'])).toEqual([]);
    expect(problemsOf(aes, { now: NOW, warningDays: 30, legacyHosts: ['web-2016'] })[0]?.detail).toContain(
      'web-2016',
    );
    expect(windowsBuild('10.0.14393')).toBe(14393);
    expect(windowsBuild('10.0.17763.1234')).toBe(17763);
    expect(windowsBuild('6.3.9600')).toBe(0);
    expect(windowsBuild('')).toBeNull();
    expect(windowsBuild(undefined)).toBeNull();
  });
});

describe('ids', () => {
  it('are opaque, stable, per ccs-id and case-insensitive in the file name', () => {
    const id = certificateIdOf('default', 'www.contoso.com.pfx');
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(id).not.toContain('contoso');
    expect(certificateIdOf('default', 'WWW.Contoso.com.PFX')).toBe(id);
    expect(certificateIdOf('other', 'www.contoso.com.pfx')).not.toBe(id);
    expect(storeIdOf('default')).toBe(storeIdOf('default'));
    expect(storeIdOf('default')).not.toBe(storeIdOf('other'));
  });
});

describe('the scanner election (API-side lease)', () => {
  const options: InventoryOptions = { intervalSeconds: 60, warningDays: 30 };
  const record: CcsRecord = {
    ccsId: 'farm',
    desired: { enabled: true, path: '\\\\fs\\ccs', username: 'u', password: null, privateKeyPassword: null },
    generation: 3,
    updatedAt: NOW.toISOString(),
    lastOperationId: null,
  };
  const host = (name: string, lastSeen: string, appliedGeneration = 3): HostRecord => ({
    ccsId: 'farm',
    host: name,
    agentVersion: '1',
    backend: 'simulated',
    actual: { enabled: true, path: '\\\\fs\\ccs', username: 'u' },
    appliedGeneration,
    lastSeen,
    lastError: null,
    lastDriftAt: null,
  });
  const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
  const hosts = [
    host('web-01', '2026-05-31T23:59:00Z'),
    host('web-02', '2026-05-31T23:59:30Z'),
    host('web-03', '2026-05-31T23:00:00Z', 2),
  ];

  it('elects the most recently seen host that applied the current generation, with a full scan', () => {
    const decision = nextScan(emptyLease('farm'), record, hosts, NOW, options);
    expect(decision).toMatchObject({ host: 'web-02', scanSeq: 1, full: true });
    expect(decision?.lease).toMatchObject({ holder: 'web-02', holderSince: 1, generation: 3 });
  });

  it('elects nobody when no host applied the current generation', () => {
    expect(nextScan(emptyLease('farm'), record, [hosts[2]!], NOW, options)).toBeNull();
  });

  it('waits for the outstanding scan, then scans once per interval with deltas', () => {
    const first = nextScan(emptyLease('farm'), record, hosts, NOW, options)!;
    expect(nextScan(first.lease, record, hosts, at(30), options)).toBeNull();
    const reported: InventoryLease = {
      ...first.lease,
      reportedSeq: 1,
      lastReportAt: at(1).toISOString(),
      completedFullSeq: 1,
      completedFullGeneration: 3,
      lastFullAt: at(1).toISOString(),
    };
    expect(nextScan(reported, record, hosts, at(30), options)).toBeNull();
    expect(nextScan(reported, record, hosts, at(61), options)).toMatchObject({
      host: 'web-02',
      scanSeq: 2,
      full: false,
    });
    // A day after the last full scan, the next one is full again.
    expect(
      nextScan({ ...reported, lastReportAt: at(86_400).toISOString() }, record, hosts, at(86_461), options),
    ).toMatchObject({
      full: true,
    });
  });

  it('asks for a full scan at once when the desired state changed', () => {
    const first = nextScan(emptyLease('farm'), record, hosts, NOW, options)!;
    const changed = { ...record, generation: 4 };
    const moved = hosts.map((h) => ({ ...h, appliedGeneration: 4 }));
    expect(nextScan(first.lease, changed, moved, at(5), options)).toMatchObject({
      host: 'web-02',
      scanSeq: 2,
      full: true,
    });
  });

  it('hands over after two silent intervals, passing over the silent host', () => {
    const first = nextScan(emptyLease('farm'), record, hosts, NOW, options)!;
    expect(nextScan(first.lease, record, hosts, at(119), options)).toBeNull();
    const handed = nextScan(first.lease, record, hosts, at(120), options)!;
    expect(handed).toMatchObject({ host: 'web-01', scanSeq: 2, full: true });
    expect(handed.lease).toMatchObject({ holder: 'web-01', holderSince: 2, excluded: ['web-02'] });
    // web-01 goes silent too: every candidate was passed over, so the election starts again.
    const again = nextScan(handed.lease, record, hosts, at(240), options)!;
    expect(again).toMatchObject({ host: 'web-02', scanSeq: 3 });
  });

  it('after a failed scan, waits an interval before asking another host', () => {
    const first = nextScan(emptyLease('farm'), record, hosts, NOW, options)!;
    const failed: InventoryLease = {
      ...first.lease,
      holder: null,
      reportedSeq: 1,
      lastReportAt: at(1).toISOString(),
      lastError: { name: 'path', code: 'ShareUnreadable', detail: 'x', status: 502 },
      excluded: ['web-02'],
    };
    expect(nextScan(failed, record, hosts, at(30), options)).toBeNull();
    expect(nextScan(failed, record, hosts, at(62), options)).toMatchObject({ host: 'web-01', full: true });
  });
});

describe('fields and ranges', () => {
  it('fields=* is everything, a list is those, nothing is the default', () => {
    expect(fieldSelection('*', 'ref')).toBe('all');
    expect(fieldSelection(null, 'ref')).toBe('ref');
    expect(fieldSelection('', 'all')).toBe('all');
    expect(fieldSelection('alias, thumbprint', 'ref')).toEqual(new Set(['alias', 'thumbprint']));
  });

  it('Range: certificates=a-b is zero-based and inclusive; the end is cut to the last certificate', () => {
    expect(parseRange(null, 10)).toBeNull();
    expect(parseRange('certificates=0-4', 10)).toEqual({ start: 0, end: 4 });
    expect(parseRange('Certificates = 5-99', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=0-4', 10)).toBeNull();
    expect(parseRange('certificates=10-12', 10)).toBe('unsatisfiable');
    expect(parseRange('certificates=4-2', 10)).toBe('unsatisfiable');
    expect(parseRange('certificates=-2', 10)).toBe('unsatisfiable');
    expect(parseRange('certificates=0-0', 0)).toBe('unsatisfiable');
  });
});
