import { describe, expect, it } from 'vitest';
import { ccsFileCandidates, ccsFileFor, ccsLookupName, indexCcsFiles } from '../../shared/coverage.js';

describe('ccsLookupName', () => {
  it('lower-cases and drops a trailing dot', () => {
    expect(ccsLookupName('WWW.Contoso.COM.')).toBe('www.contoso.com');
  });

  it('turns an internationalised name into the punycode a client sends in SNI', () => {
    expect(ccsLookupName('Bücher.example')).toBe('xn--bcher-kva.example');
    expect(ccsLookupName('BÜCHER.EXAMPLE')).toBe('xn--bcher-kva.example');
    expect(ccsLookupName('XN--BCHER-KVA.example')).toBe('xn--bcher-kva.example');
  });

  it('keeps a wildcard host header', () => {
    expect(ccsLookupName('*.Contoso.com')).toBe('*.contoso.com');
  });

  it.each([
    '',
    '   ',
    '10.0.0.5',
    '2001:db8::5',
    '[::1]',
    'exa mple.com',
    'ex%61mple.com',
    'a..b',
    '-a.com',
    'a_b.com',
    'a/b',
  ])('refuses %j: no client sends it in SNI', (name) => {
    expect(ccsLookupName(name)).toBeNull();
  });

  it('refuses a label longer than 63 characters', () => {
    expect(ccsLookupName(`${'a'.repeat(64)}.com`)).toBeNull();
    expect(ccsLookupName(`${'a'.repeat(63)}.com`)).toBe(`${'a'.repeat(63)}.com`);
  });
});

describe('ccsFileCandidates (IIS: exact file first, then the one-level wildcard file)', () => {
  it('tries <host>.pfx, then _.<parent>.pfx', () => {
    expect(ccsFileCandidates('www.contoso.com')).toEqual(['www.contoso.com.pfx', '_.contoso.com.pfx']);
  });

  it('replaces one label only: a.b.contoso.com never uses _.contoso.com.pfx', () => {
    expect(ccsFileCandidates('a.b.contoso.com')).toEqual(['a.b.contoso.com.pfx', '_.b.contoso.com.pfx']);
  });

  it('a single-label name has no parent', () => {
    expect(ccsFileCandidates('intranet')).toEqual(['intranet.pfx']);
  });

  it('a wildcard host header is served by the wildcard file only', () => {
    expect(ccsFileCandidates('*.contoso.com')).toEqual(['_.contoso.com.pfx']);
  });

  it('an IDN name looks for punycode file names', () => {
    expect(ccsFileCandidates('www.bücher.example')).toEqual([
      'www.xn--bcher-kva.example.pfx',
      '_.xn--bcher-kva.example.pfx',
    ]);
  });

  it('nothing for a name no client can send', () => {
    expect(ccsFileCandidates('')).toEqual([]);
    expect(ccsFileCandidates('10.0.0.5')).toEqual([]);
  });
});

describe('ccsFileFor', () => {
  const files = indexCcsFiles([
    'WWW.Contoso.com.PFX',
    '_.contoso.com.pfx',
    'xn--bcher-kva.example.pfx',
    '*.fabrikam.com.pfx',
  ]);

  it('prefers the exact file and compares case-insensitively, returning the name as listed', () => {
    expect(ccsFileFor('www.contoso.com', files)).toBe('WWW.Contoso.com.PFX');
  });

  it('falls back to the wildcard file', () => {
    expect(ccsFileFor('shop.contoso.com', files)).toBe('_.contoso.com.pfx');
  });

  it('does not use a wildcard file two levels up', () => {
    expect(ccsFileFor('a.shop.contoso.com', files)).toBeNull();
  });

  it('does not serve the apex from the wildcard file', () => {
    expect(ccsFileFor('contoso.com', files)).toBeNull();
  });

  it('a misnamed wildcard file (* instead of _) serves nothing', () => {
    expect(ccsFileFor('www.fabrikam.com', files)).toBeNull();
  });

  it('finds the punycode file of an IDN name, whatever its case', () => {
    expect(ccsFileFor('BÜCHER.example', files)).toBe('xn--bcher-kva.example.pfx');
  });
});
