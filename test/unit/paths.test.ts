import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AllowedLocation } from '../../shared/paths.js';
import { DomainError } from '../../shared/errors.js';
import {
  assertAllowed,
  expandAllowedLocations,
  expandEnvironmentVariables,
  isInsideAllowedLocations,
  MAX_CCS_PATH_LENGTH,
  normalizeCcsPath,
} from '../../shared/paths.js';
import {
  ATTACK_ALLOWED_LOCATIONS,
  ATTACK_HOST_ENV,
  PATH_ALLOWED,
  PATH_ATTACKS,
  type PathAttackOutcome,
} from '../fixtures/path-attacks.js';

const MAX_DETAIL_LENGTH = 200;

/** The DomainError `fn` throws; fails the test when it throws nothing or something else. */
function domainErrorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

function expectInvalid(fn: () => unknown, field = 'path'): DomainError {
  const error = domainErrorOf(fn);
  expect(error.kind).toBe('invalid');
  expect(error.code).toBe('InvalidParameter');
  expect(error.field).toBe(field);
  expect(error.message.length).toBeLessThanOrEqual(MAX_DETAIL_LENGTH);
  // A detail goes into logs and JSON bodies: it must not smuggle control characters along.
  expect(error.message).not.toMatch(/[\p{Cc}\p{Cf}]/u);
  return error;
}

const locations = (...paths: string[]): AllowedLocation[] =>
  paths.map((path) => ({ path, claims: ['read'] }));

const byOutcome = (outcome: PathAttackOutcome) => PATH_ATTACKS.filter((attack) => attack.expect === outcome);

describe('the path attack corpus', () => {
  it('holds at least 60 hostile inputs, each listed once', () => {
    expect(PATH_ATTACKS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(PATH_ATTACKS.map((attack) => attack.input)).size).toBe(PATH_ATTACKS.length);
  });

  it('holds allowed inputs whose normal forms are already normal', () => {
    for (const { normalized } of PATH_ALLOWED) expect(normalizeCcsPath(normalized)).toBe(normalized);
  });
});

describe('normalizeCcsPath', () => {
  for (const { input, why } of byOutcome('invalid')) {
    it(`refuses ${why}`, () => {
      expectInvalid(() => normalizeCcsPath(input));
    });
  }

  for (const { input, why } of byOutcome('forbidden')) {
    it(`accepts ${why} as a well-formed path`, () => {
      expect(() => normalizeCcsPath(input)).not.toThrow();
    });
  }

  it.each(PATH_ALLOWED)('normalises $input to $normalized', ({ input, normalized }) => {
    expect(normalizeCcsPath(input)).toBe(normalized);
  });

  it.each([undefined, null, 42, true, {}, ['C:\\certs'], Symbol('path')])(
    'refuses the non-string %s',
    (input) => {
      expect(expectInvalid(() => normalizeCcsPath(input)).message).toMatch(/must be a string/);
    },
  );

  it('names the custom field in its errors', () => {
    expectInvalid(() => normalizeCcsPath('certs', 'locations[2].path'), 'locations[2].path');
    expectInvalid(() => normalizeCcsPath(7, 'share'), 'share');
  });

  it('keeps the drive root as C:\\ and uppercases the drive letter', () => {
    expect(normalizeCcsPath('c:\\')).toBe('C:\\');
    expect(normalizeCcsPath('c:/')).toBe('C:\\');
    expect(normalizeCcsPath('d:\\certs\\..')).toBe('D:\\');
  });

  it('keeps a bare UNC share and a bare %VAR% without a trailing separator', () => {
    expect(normalizeCcsPath('\\\\fileserver\\ccs\\')).toBe('\\\\fileserver\\ccs');
    expect(normalizeCcsPath('%SystemDrive%\\')).toBe('%SystemDrive%');
  });

  it('accepts other Unicode letters in names', () => {
    expect(normalizeCcsPath('D:\\Zertifikate\\Größe')).toBe('D:\\Zertifikate\\Größe');
    expect(normalizeCcsPath('E:\\сертификаты\\証明書')).toBe('E:\\сертификаты\\証明書');
    expect(normalizeCcsPath('C:\\certs\\Catalunya·l·l')).toBe('C:\\certs\\Catalunya·l·l');
  });

  it('accepts variable names with parentheses, as in %ProgramFiles(x86)%', () => {
    expect(normalizeCcsPath('%ProgramFiles(x86)%\\ccs')).toBe('%ProgramFiles(x86)%\\ccs');
  });

  it('accepts IPv4 addresses and administrative shares in UNC paths', () => {
    expect(normalizeCcsPath('\\\\10.0.0.5\\ccs$\\certs')).toBe('\\\\10.0.0.5\\ccs$\\certs');
  });

  it('accepts exactly 259 characters after normalisation and refuses 260', () => {
    const fits = `C:\\${'a'.repeat(200)}\\${'b'.repeat(MAX_CCS_PATH_LENGTH - 204)}`;
    expect(fits).toHaveLength(MAX_CCS_PATH_LENGTH);
    expect(normalizeCcsPath(fits)).toBe(fits);
    expect(expectInvalid(() => normalizeCcsPath(`${fits}c`)).message).toMatch(/260 characters long/);
  });

  it('measures the length after normalisation, so a long spelling of a short path is fine', () => {
    expect(normalizeCcsPath(`C:\\certs${'\\.'.repeat(300)}\\sub`)).toBe('C:\\certs\\sub');
  });

  it('explains each kind of refusal in its detail', () => {
    const detail = (input: string) => expectInvalid(() => normalizeCcsPath(input)).message;
    expect(detail('certs')).toMatch(/must be absolute/);
    expect(detail('C:certs')).toMatch(/relative to that drive/);
    expect(detail('\\certs')).toMatch(/relative to the current drive/);
    expect(detail('')).toMatch(/must not be empty/);
    expect(detail('C:\\..')).toMatch(/'\.\.' to climb above C:\\/);
    expect(detail('\\\\fs\\ccs\\..')).toMatch(/climb above "\\\\fs\\ccs"/);
    expect(detail('%X%\\..')).toMatch(/climb above %X%/);
    expect(detail('C:\\certs:$DATA')).toMatch(/':'.*data streams/);
    expect(detail('C:\\PROGRA~1')).toMatch(/"PROGRA~1" looks like an 8\.3 short name/);
    expect(detail('C:\\certs\\nul.pfx')).toMatch(/"nul\.pfx" is a reserved device name/);
    expect(detail('C:\\certs.')).toMatch(/"certs\." ends with a dot or a space/);
    expect(detail('\\\\?\\C:\\certs')).toMatch(/Device and namespace paths/);
    expect(detail('C:\\certs\\*')).toMatch(/contains '\*'/);
    expect(detail('C:\\certs\\%x')).toMatch(/'%'/);
    expect(detail('%A%%B%')).toMatch(/whole first segment/);
    expect(detail('C:\\certs\u0000')).toMatch(/U\+0000 \(a control character\) at character 9/);
    expect(detail('C:\\certs\u202E')).toMatch(/U\+202E \(an invisible or bidirectional/);
    expect(detail('C:\\certs\uFF3Cx')).toMatch(/U\+FF3C \(a look-alike of '\\'\)/);
    expect(detail('C:\\certs\\\uFF0E\uFF0E')).toMatch(/U\+FF0E \(a look-alike of '\.'\)/);
    expect(detail('C:\\certs\\\uFE30')).toMatch(/U\+FE30 \(a look-alike of '\.\.'\)/);
    expect(detail('\\\\file server\\ccs')).toMatch(/not a valid host name/);
    expect(detail('\\\\fileserver')).toMatch(/needs a share name/);
  });

  it('keeps details short however long the input is', () => {
    const huge = `C:\\certs\\${'x'.repeat(200)}:$DATA`;
    expect(expectInvalid(() => normalizeCcsPath(huge)).message).toMatch(/"x{79}…"/);
    expectInvalid(() => normalizeCcsPath(`\\\\${'s'.repeat(250)}\\ccs\\..\\..`));
    expectInvalid(() => normalizeCcsPath(`%${'V'.repeat(300)}%\\..`));
    expectInvalid(() => normalizeCcsPath('x'.repeat(40_000)));
  });

  it('returns a normal, short path or refuses with a short detail, for any input', () => {
    const pathish = fc.string({
      unit: fc.constantFrom(
        'C:',
        'c:',
        '\\',
        '/',
        '.',
        '..',
        ' ',
        'a',
        'Ü',
        '~1',
        '%',
        '%X%',
        'con',
        ':',
        '\uFF0E',
      ),
      maxLength: 30,
    });
    fc.assert(
      fc.property(pathish, (input) => {
        let normalized: string;
        try {
          normalized = normalizeCcsPath(input);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
          expect((error as DomainError).message.length).toBeLessThanOrEqual(MAX_DETAIL_LENGTH);
          return;
        }
        expect(normalizeCcsPath(normalized)).toBe(normalized);
        expect(normalized.length).toBeLessThanOrEqual(MAX_CCS_PATH_LENGTH);
        expect(normalized).not.toMatch(/\//);
        expect(normalized.slice(2)).not.toMatch(/\\\\/);
        expect(normalized.split('\\')).not.toContain('..');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isInsideAllowedLocations', () => {
  for (const { input, why } of byOutcome('forbidden')) {
    it(`keeps ${why} outside the allow-list`, () => {
      expect(isInsideAllowedLocations(input, ATTACK_ALLOWED_LOCATIONS)).toBe(false);
    });
  }

  for (const { input, why } of byOutcome('invalid')) {
    it(`never counts ${why} as inside`, () => {
      expect(isInsideAllowedLocations(input, ATTACK_ALLOWED_LOCATIONS)).toBe(false);
    });
  }

  it.each(PATH_ALLOWED)('counts $input as inside the allow-list', ({ input, normalized }) => {
    expect(isInsideAllowedLocations(input, ATTACK_ALLOWED_LOCATIONS)).toBe(true);
    expect(isInsideAllowedLocations(normalized, ATTACK_ALLOWED_LOCATIONS)).toBe(true);
  });

  it('compares whole segments, so a sibling that extends the name is outside', () => {
    expect(isInsideAllowedLocations('\\\\share\\certs-evil', locations('\\\\share\\certs'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\certs2', locations('C:\\certs'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\cert', locations('C:\\certs'))).toBe(false);
  });

  it('counts the location itself and everything below it, in any case', () => {
    const allowed = locations('C:\\certs');
    expect(isInsideAllowedLocations('C:\\certs', allowed)).toBe(true);
    expect(isInsideAllowedLocations('c:\\CERTS\\sub', allowed)).toBe(true);
    expect(isInsideAllowedLocations('\\\\FS\\CCS\\x', locations('\\\\fs\\ccs'))).toBe(true);
  });

  it('normalises the configured locations too', () => {
    expect(isInsideAllowedLocations('C:\\certs\\a', locations('c:/certs/'))).toBe(true);
    expect(isInsideAllowedLocations('C:\\x', locations('C:\\certs\\..\\x'))).toBe(true);
  });

  it('lets a drive root location allow the whole drive but no other drive', () => {
    expect(isInsideAllowedLocations('C:\\anything\\below', locations('C:\\'))).toBe(true);
    expect(isInsideAllowedLocations('D:\\anything', locations('C:\\'))).toBe(false);
  });

  it('skips invalid configured locations and still honours the valid ones', () => {
    const mixed = locations('certs', '\\\\?\\C:\\', 'C:\\PROGRA~1', '%A%%B%', 'D:\\certs');
    expect(isInsideAllowedLocations('C:\\certs', mixed)).toBe(false);
    expect(isInsideAllowedLocations('C:\\PROGRA~1\\x', mixed)).toBe(false);
    expect(isInsideAllowedLocations('D:\\certs\\x', mixed)).toBe(true);
  });

  it('counts only locations that carry the requested claim', () => {
    const writeOnly: AllowedLocation[] = [{ path: 'C:\\drop', claims: ['write'] }];
    const both: AllowedLocation[] = [{ path: 'C:\\certs', claims: ['read', 'write'] }];
    const none: AllowedLocation[] = [{ path: 'C:\\certs', claims: [] }];
    expect(isInsideAllowedLocations('C:\\drop', writeOnly)).toBe(false);
    expect(isInsideAllowedLocations('C:\\drop', writeOnly, 'write')).toBe(true);
    expect(isInsideAllowedLocations('C:\\certs\\x', both, 'write')).toBe(true);
    expect(isInsideAllowedLocations('C:\\certs', ATTACK_ALLOWED_LOCATIONS, 'write')).toBe(false);
    expect(isInsideAllowedLocations('C:\\certs', none)).toBe(false);
  });

  it('allows nothing with an empty allow-list', () => {
    expect(isInsideAllowedLocations('C:\\certs', [])).toBe(false);
  });

  it('matches %VAR% paths only to locations under the same variable, in any case', () => {
    expect(isInsideAllowedLocations('%SYSTEMDRIVE%\\ccs\\x', locations('%SystemDrive%\\ccs'))).toBe(true);
    expect(isInsideAllowedLocations('%SystemDrive%\\ccs', locations('C:\\ccs'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\ccs', locations('%SystemDrive%\\ccs'))).toBe(false);
    expect(isInsideAllowedLocations('%SystemRoot%\\ccs', locations('%SystemDrive%\\ccs'))).toBe(false);
    expect(isInsideAllowedLocations('%SystemDrive%\\ccs', locations('%SystemDrive%'))).toBe(true);
  });

  it('folds letters with simple case pairs, such as É and é', () => {
    expect(isInsideAllowedLocations('C:\\ÉTÉ\\Größe\\x', locations('C:\\été\\GRÖßE'))).toBe(true);
    expect(isInsideAllowedLocations('C:\\СЕРТ', locations('C:\\серт'))).toBe(true);
  });

  it('does not fold ß into SS, since NTFS sees Straße and STRASSE as different folders', () => {
    expect(isInsideAllowedLocations('C:\\STRASSE', locations('C:\\Straße'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\Straße', locations('C:\\STRASSE'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\STRAẞE', locations('C:\\straße'))).toBe(false);
  });

  it('does not fold compatibility letters such as ı, ſ, µ and ς into ASCII or Greek capitals', () => {
    expect(isInsideAllowedLocations('C:\\certſ', locations('C:\\certs'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\fıle', locations('C:\\FILE'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\µ', locations('C:\\Μ'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\ς', locations('C:\\Σ'))).toBe(false);
  });

  it('compares scripts whose case pairs NTFS may not know exactly', () => {
    expect(isInsideAllowedLocations('C:\\Ა', locations('C:\\ა'))).toBe(false);
    expect(isInsideAllowedLocations('C:\\ა', locations('C:\\ა'))).toBe(true);
  });

  it('never throws, even for values that are not paths', () => {
    expect(isInsideAllowedLocations(undefined as unknown as string, ATTACK_ALLOWED_LOCATIONS)).toBe(false);
  });
});

describe('assertAllowed', () => {
  it.each(PATH_ALLOWED)('returns $normalized for $input', ({ input, normalized }) => {
    expect(assertAllowed(input, ATTACK_ALLOWED_LOCATIONS)).toBe(normalized);
  });

  for (const { input, why } of byOutcome('forbidden')) {
    it(`answers 403 naming path for ${why}`, () => {
      const error = domainErrorOf(() => assertAllowed(input, ATTACK_ALLOWED_LOCATIONS));
      expect(error.kind).toBe('forbidden');
      expect(error.field).toBe('path');
    });
  }

  for (const { input, why } of byOutcome('invalid')) {
    it(`answers 400 naming path for ${why}`, () => {
      expectInvalid(() => assertAllowed(input, ATTACK_ALLOWED_LOCATIONS));
    });
  }

  it('checks the claim it is asked for', () => {
    const both: AllowedLocation[] = [{ path: 'C:\\certs', claims: ['read', 'write'] }];
    expect(assertAllowed('C:\\certs\\x', both, 'write')).toBe('C:\\certs\\x');
    expect(domainErrorOf(() => assertAllowed('C:\\certs', ATTACK_ALLOWED_LOCATIONS, 'write')).kind).toBe(
      'forbidden',
    );
  });
});

describe('expandEnvironmentVariables', () => {
  const env = { SystemDrive: 'C:', SystemRoot: 'C:\\Windows', Share: '\\\\fileserver\\ccs' };

  it('expands a leading variable and normalises the result', () => {
    expect(expandEnvironmentVariables('%SystemDrive%\\ccs', env)).toBe('C:\\ccs');
    expect(expandEnvironmentVariables('%SystemRoot%\\ccs', env)).toBe('C:\\Windows\\ccs');
    expect(expandEnvironmentVariables('%Share%\\sub\\', env)).toBe('\\\\fileserver\\ccs\\sub');
  });

  it('looks the variable up case-insensitively, as Windows does', () => {
    expect(expandEnvironmentVariables('%systemdrive%\\ccs', env)).toBe('C:\\ccs');
    expect(expandEnvironmentVariables('%SystemDrive%\\ccs', { SYSTEMDRIVE: 'd:' })).toBe('D:\\ccs');
  });

  it('treats a bare variable as a directory, so %SystemDrive% is the drive root', () => {
    expect(expandEnvironmentVariables('%SystemDrive%', env)).toBe('C:\\');
    expect(expandEnvironmentVariables('%SystemDrive%\\', { SystemDrive: 'C:\\' })).toBe('C:\\');
  });

  it('normalises a path without a variable as it is', () => {
    expect(expandEnvironmentVariables('c:/certs/', {})).toBe('C:\\certs');
  });

  it('refuses an undefined or empty variable, naming it', () => {
    const missing = expectInvalid(() => expandEnvironmentVariables('%CcsRoot%\\x', env));
    expect(missing.message).toMatch(/%CcsRoot% is not defined/);
    expectInvalid(() => expandEnvironmentVariables('%Empty%\\x', { Empty: '' }));
    expectInvalid(() => expandEnvironmentVariables('%Unset%\\x', { Unset: undefined }));
  });

  it('refuses spellings of one variable whose values disagree', () => {
    const detail = expectInvalid(() =>
      expandEnvironmentVariables('%Root%\\x', { ROOT: 'C:', root: 'D:' }),
    ).message;
    expect(detail).toMatch(/conflicting values/);
    expect(expandEnvironmentVariables('%Root%\\x', { ROOT: 'C:', root: 'C:' })).toBe('C:\\x');
  });

  it('refuses a path that is invalid before expansion', () => {
    expectInvalid(() => expandEnvironmentVariables('%SystemDrive%\\..\\x', env));
    expectInvalid(() => expandEnvironmentVariables('%SystemDrive%..\\x', env));
  });

  it.each([
    ['a value containing ..', 'C:\\certs\\..\\Windows'],
    ['a value that climbs above its root', 'C:\\..'],
    ['a relative value', '..\\x'],
    ['a drive-relative value', 'C:certs'],
    ['a device prefix', '\\\\?\\C:'],
    ['a device namespace', '\\\\.\\pipe'],
    ['another variable', '%SystemRoot%'],
    ['an embedded variable', 'C:\\%SystemRoot%'],
    ['an alternate data stream', 'C:\\certs:$DATA'],
    ['a short name', 'C:\\PROGRA~1'],
    ['a control character', 'C:\\certs\u0000'],
    ['a look-alike separator', 'C:\uFF3Ccerts'],
    ['a trailing dot', 'C:\\certs.'],
  ])('refuses a variable that expands to %s', (_, value) => {
    expectInvalid(() => expandEnvironmentVariables('%X%\\ccs', { X: value }));
  });

  it('refuses an expansion longer than 259 characters', () => {
    const detail = expectInvalid(() =>
      expandEnvironmentVariables('%X%\\ccs', { X: `C:\\${'a'.repeat(200)}\\${'b'.repeat(60)}` }),
    ).message;
    expect(detail).toMatch(/the limit is 259/);
  });

  it('keeps details short when the expansion is refused', () => {
    expectInvalid(() => expandEnvironmentVariables('%X%\\ccs', { X: `C:\\${'a'.repeat(200)}:$DATA` }));
    expectInvalid(() => expandEnvironmentVariables(`%${'X'.repeat(200)}%\\ccs`, {}));
  });
});

describe('an agent checking the attack corpus against its own expanded allow-list', () => {
  const hostLocations = expandAllowedLocations(ATTACK_ALLOWED_LOCATIONS, ATTACK_HOST_ENV);

  it('expands the %VAR% locations of its allow-list', () => {
    expect(hostLocations.map((location) => location.path)).toEqual([
      'C:\\certs',
      '\\\\fileserver\\ccs',
      'C:\\ccs',
    ]);
  });

  it('drops locations it cannot expand, so they allow nothing', () => {
    const expanded = expandAllowedLocations(
      [
        ...locations('%Missing%\\ccs', '%SystemDrive%\\..\\x', 'relative'),
        { path: '%SystemDrive%\\ccs', claims: ['write'] },
      ],
      ATTACK_HOST_ENV,
    );
    expect(expanded).toEqual([{ path: 'C:\\ccs', claims: ['write'] }]);
  });

  /** What the agent decides for one input: refuse it, or allow it when inside its expanded list. */
  function agentOutcome(input: string): 'invalid' | 'forbidden' | 'allowed' {
    let expanded: string;
    try {
      expanded = expandEnvironmentVariables(input, ATTACK_HOST_ENV);
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'invalid') return 'invalid';
      throw error;
    }
    return isInsideAllowedLocations(expanded, hostLocations) ? 'allowed' : 'forbidden';
  }

  for (const { input, why, expect: outcome, agent } of PATH_ATTACKS) {
    it(`judges ${why} as ${agent ?? outcome}`, () => {
      expect(agentOutcome(input)).toBe(agent ?? outcome);
    });
  }

  it.each(PATH_ALLOWED)('allows $input', ({ input }) => {
    expect(agentOutcome(input)).toBe('allowed');
  });
});
