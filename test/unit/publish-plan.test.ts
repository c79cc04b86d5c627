/**
 * The publisher's pure parts: IIS file names from a certificate's names (shared/publishing/file-names.ts)
 * and shared-name detection (shared/publishing/conflicts.ts `nameConflicts`), which the API uses to
 * answer 409 when two sources claim the same host name.
 */
import type { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fileNamesFor } from '../../shared/publishing/file-names.js';
import { nameConflicts } from '../../shared/publishing/conflicts.js';

/** Just the two fields file-names.ts reads. */
const cert = (subjectAltName: string | undefined, subject = 'CN=ignored.example'): X509Certificate =>
  ({ subjectAltName, subject }) as X509Certificate;

describe('fileNamesFor', () => {
  it('names one file per DNS name, lowercased, a wildcard as `_.`, duplicates once', () => {
    expect(
      fileNamesFor(cert('DNS:WWW.Contoso.com, DNS:*.contoso.com, DNS:www.contoso.com., DNS:contoso.com')),
    ).toEqual({
      names: [
        { host: 'www.contoso.com', file: 'www.contoso.com.pfx' },
        { host: '*.contoso.com', file: '_.contoso.com.pfx' },
        { host: 'contoso.com', file: 'contoso.com.pfx' },
      ],
      skipped: [],
    });
  });

  it('writes an internationalised name in its A-label form, as SNI carries it', () => {
    expect(fileNamesFor(cert('DNS:bücher.example, DNS:*.bücher.example')).names).toEqual([
      { host: 'xn--bcher-kva.example', file: 'xn--bcher-kva.example.pfx' },
      { host: '*.xn--bcher-kva.example', file: '_.xn--bcher-kva.example.pfx' },
    ]);
  });

  it('skips names no CCS file can serve, saying why', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    const { names, skipped } = fileNamesFor(
      cert(
        `DNS:10.0.0.5, DNS:w*.contoso.com, DNS:*.*.contoso.com, DNS:bad_name.contoso.com, DNS:con.contoso.com, DNS:*, DNS:${long}, DNS:ok.contoso.com`,
      ),
    );
    expect(names).toEqual([{ host: 'ok.contoso.com', file: 'ok.contoso.com.pfx' }]);
    expect(skipped.map((s) => s.reason)).toEqual([
      'ip-address',
      'partial-wildcard',
      'partial-wildcard',
      'invalid-host-name',
      'reserved-file-name',
      'partial-wildcard',
      'file-name-too-long',
    ]);
  });

  it('falls back to the common name only when there is no DNS name', () => {
    expect(fileNamesFor(cert(undefined, 'C=US\nCN=Legacy.Example')).names).toEqual([
      { host: 'legacy.example', file: 'legacy.example.pfx' },
    ]);
    expect(fileNamesFor(cert('DNS:san.example', 'CN=cn.example')).names.map((n) => n.file)).toEqual([
      'san.example.pfx',
    ]);
  });
});

describe('nameConflicts', () => {
  it('finds files claimed by more than one source, case-insensitively', () => {
    expect(
      nameConflicts([
        { source: 'b-cert', files: ['www.contoso.com.pfx', 'b.contoso.com.pfx'] },
        { source: 'a-cert', files: ['WWW.contoso.com.pfx'] },
        { source: 'c-cert', files: ['c.contoso.com.pfx'] },
      ]),
    ).toEqual([{ file: 'www.contoso.com.pfx', sources: ['a-cert', 'b-cert'] }]);
  });

  it('finds none when every file has one claimant', () => {
    expect(
      nameConflicts([
        { source: 'a', files: ['a.pfx'] },
        { source: 'b', files: ['b.pfx'] },
      ]),
    ).toEqual([]);
  });
});
