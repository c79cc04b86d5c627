/**
 * Reading IIS's state from the registry: the bytes RegQueryValueExW returns, decoded, and the
 * values mapped to the reported state — strictly, so a value of the wrong type is an error and
 * never reads as "disabled".
 */
import { describe, expect, it } from 'vitest';
import {
  CCS_PROVIDER_KEY,
  IIS_COMPONENTS_KEY,
  readIisState,
  readProviderSettings,
  REBOOT_PENDING_KEY,
  WINDOWS_VERSION_KEY,
} from '../../agent/backends/iis-registry.js';
import {
  decodeRegistryValue,
  RegistryError,
  type RegistryReader,
  type RegistryValue,
} from '../../agent/backends/windows-registry.js';

const utf16z = (s: string) => Buffer.from(`${s}\0`, 'utf16le');
const dword = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

class MapRegistry implements RegistryReader {
  constructor(private readonly keys: Record<string, Record<string, RegistryValue>>) {}
  readValues(key: string, names: readonly string[]): Map<string, RegistryValue> | null {
    const values = this.keys[key];
    if (!values) return null;
    return new Map(names.filter((n) => values[n]).map((n) => [n, values[n]!]));
  }
}

const sz = (data: string): RegistryValue => ({ type: 'REG_SZ', data });
const dw = (data: number): RegistryValue => ({ type: 'REG_DWORD', data });

describe('registry values', () => {
  it('decodes REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ (UTF-16LE, NULs dropped), REG_DWORD, REG_QWORD', () => {
    expect(decodeRegistryValue(1, utf16z('\\\\files\\ccs'))).toEqual(sz('\\\\files\\ccs'));
    expect(decodeRegistryValue(2, utf16z('%SystemDrive%\\c'))).toEqual({
      type: 'REG_EXPAND_SZ',
      data: '%SystemDrive%\\c',
    });
    expect(decodeRegistryValue(7, Buffer.from('A=1\0B=2\0\0', 'utf16le'))).toEqual({
      type: 'REG_MULTI_SZ',
      data: ['A=1', 'B=2'],
    });
    expect(decodeRegistryValue(4, dword(300))).toEqual(dw(300));
    expect(decodeRegistryValue(11, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]))).toEqual({
      type: 'REG_QWORD',
      data: 1n,
    });
    expect(decodeRegistryValue(1, Buffer.from('ü', 'utf16le'))).toEqual(sz('ü'));
  });

  it('refuses a DWORD of the wrong size and unknown types', () => {
    expect(() => decodeRegistryValue(4, Buffer.alloc(2))).toThrow(RegistryError);
    expect(() => decodeRegistryValue(6, Buffer.alloc(0))).toThrow('unsupported');
  });
});

describe('IIS state from the registry', () => {
  const version = {
    CurrentMajorVersionNumber: dw(10),
    CurrentMinorVersionNumber: dw(0),
    CurrentBuildNumber: sz('17763'),
  };

  it('reads the provider, the feature and the Windows version', () => {
    const registry = new MapRegistry({
      [CCS_PROVIDER_KEY]: {
        Enabled: dw(1),
        CertStoreLocation: sz('\\\\files\\ccs'),
        UserName: sz('CONTOSO\\r'),
        Password: sz('encrypted'),
      },
      [IIS_COMPONENTS_KEY]: { CertProvider: dw(1) },
      [WINDOWS_VERSION_KEY]: version,
    });
    expect(readIisState(registry)).toEqual({
      enabled: true,
      path: '\\\\files\\ccs',
      username: 'CONTOSO\\r',
      featureInstalled: true,
      rebootRequired: false,
      osVersion: '10.0.17763',
    });
    expect(readProviderSettings(registry).pollingIntervalSeconds).toBe(300);
  });

  it('without the feature: disabled, and a pending restart shows as rebootRequired', () => {
    const registry = new MapRegistry({ [REBOOT_PENDING_KEY]: {}, [CCS_PROVIDER_KEY]: { Enabled: dw(1) } });
    expect(readIisState(registry)).toEqual({
      enabled: false,
      path: null,
      username: null,
      featureInstalled: false,
      rebootRequired: true,
    });
    expect(readIisState(new MapRegistry({}), true).rebootRequired).toBe(true);
  });

  it('an empty key, or empty strings, are disabled and null; PollingInterval is read', () => {
    const registry = new MapRegistry({
      [IIS_COMPONENTS_KEY]: { CertProvider: dw(1) },
      [CCS_PROVIDER_KEY]: { CertStoreLocation: sz(''), PollingInterval: dw(60) },
    });
    expect(readIisState(registry)).toMatchObject({ enabled: false, path: null, username: null });
    expect(readProviderSettings(registry).pollingIntervalSeconds).toBe(60);
  });

  it('a value of an unexpected type is an error, never "disabled"', () => {
    const registry = new MapRegistry({
      [IIS_COMPONENTS_KEY]: { CertProvider: dw(1) },
      [CCS_PROVIDER_KEY]: { Enabled: sz('True') },
    });
    expect(() => readIisState(registry)).toThrow('not REG_DWORD');
  });
});
