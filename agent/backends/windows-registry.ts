/**
 * Reads HKEY_LOCAL_MACHINE in-process, in the 64-bit view, so that reading IIS's state (every
 * drift check, every minute) starts no process at all.
 *
 * Decision (docs/windows.md, "Reading the registry"): `reg.exe query /reg:64` would be a child
 * process per read; `winreg` and `regedit` wrap reg.exe / cscript; `registry-js` downloads its
 * binary at install time; `native-reg` ships Windows prebuilds but has a fraction of the users.
 * We call advapi32's RegOpenKeyExW / RegQueryValueExW / RegCloseKey through **koffi** (MIT, the
 * most used Node FFI, whose 2.x npm tarball carries its Windows x64/arm64 binaries, so nothing is
 * built or downloaded on the server). Three documented functions, bound here and reviewable.
 *
 * KEY_WOW64_64KEY ("Accessing an Alternate Registry View", Win32 docs) makes the view explicit:
 * IIS writes its keys in the 64-bit view, and a 32-bit process would otherwise be redirected to
 * Wow6432Node (install.ps1 refuses a 32-bit node as well).
 */
import { createRequire } from 'node:module';

/** A value as the registry holds it (winnt.h REG_* types). */
export type RegistryValue =
  | { type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string }
  | { type: 'REG_DWORD'; data: number }
  | { type: 'REG_QWORD'; data: bigint }
  | { type: 'REG_MULTI_SZ'; data: string[] }
  | { type: 'REG_BINARY' | 'REG_NONE'; data: Buffer };

/** Read access to HKLM (64-bit view). Keys are relative to HKLM: `SOFTWARE\\Microsoft\\IIS\\…`. */
export interface RegistryReader {
  /** The named values of a key; absent values are left out; null when the key does not exist. */
  readValues(key: string, names: readonly string[]): Map<string, RegistryValue> | null;
}

/** A registry call failed for a reason other than "not there" (access denied, bad data…). */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly win32: number | null = null,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

const REG_TYPES: Readonly<Record<number, RegistryValue['type']>> = {
  0: 'REG_NONE',
  1: 'REG_SZ',
  2: 'REG_EXPAND_SZ',
  3: 'REG_BINARY',
  4: 'REG_DWORD',
  7: 'REG_MULTI_SZ',
  11: 'REG_QWORD',
};

/** Strings are UTF-16LE, usually (not always) ending in NULs; MULTI_SZ ends in two. */
function utf16(data: Buffer): string {
  return data.subarray(0, data.length - (data.length % 2)).toString('utf16le');
}

/** The bytes RegQueryValueExW returned, as a typed value (pure: tested on every platform). */
export function decodeRegistryValue(type: number, data: Buffer): RegistryValue {
  const name = REG_TYPES[type];
  switch (name) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return { type: name, data: utf16(data).replace(/\0+$/, '') };
    case 'REG_MULTI_SZ':
      return {
        type: name,
        data: utf16(data)
          .replace(/\0+$/, '')
          .split('\0')
          .filter((s) => s !== ''),
      };
    case 'REG_DWORD':
      if (data.length !== 4) throw new RegistryError(`REG_DWORD of ${data.length} bytes`);
      return { type: name, data: data.readUInt32LE(0) };
    case 'REG_QWORD':
      if (data.length !== 8) throw new RegistryError(`REG_QWORD of ${data.length} bytes`);
      return { type: name, data: data.readBigUInt64LE(0) };
    case 'REG_BINARY':
    case 'REG_NONE':
      return { type: name, data: Buffer.from(data) };
    default:
      throw new RegistryError(`unsupported registry value type ${type}`);
  }
}

// winerror.h / winreg.h
const ERROR_SUCCESS = 0;
const ERROR_FILE_NOT_FOUND = 2;
const ERROR_MORE_DATA = 234;
/** (HKEY)(ULONG_PTR)(LONG)0x80000002, sign-extended as Windows defines it. */
const HKEY_LOCAL_MACHINE = -2147483646;
const KEY_QUERY_VALUE = 0x0001;
const KEY_WOW64_64KEY = 0x0100;

/** koffi answers an intptr_t as a number, or a bigint when it does not fit. */
type Handle = number | bigint;
type OpenKey = (hkey: Handle, subKey: string, options: number, sam: number, out: [Handle]) => number;
type QueryValue = (
  hkey: Handle,
  name: string,
  reserved: null,
  type: [number],
  data: Buffer | null,
  size: [number],
) => number;
type CloseKey = (hkey: Handle) => number;

interface Advapi32 {
  open: OpenKey;
  query: QueryValue;
  close: CloseKey;
}

interface Koffi {
  load(name: string): { func(prototype: string): unknown };
}

function bindAdvapi32(): Advapi32 {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const advapi32 = koffi.load('advapi32.dll');
  return {
    open: advapi32.func(
      'long __stdcall RegOpenKeyExW(intptr_t hKey, str16 lpSubKey, uint32_t ulOptions, uint32_t samDesired, _Out_ intptr_t *phkResult)',
    ) as OpenKey,
    query: advapi32.func(
      'long __stdcall RegQueryValueExW(intptr_t hKey, str16 lpValueName, void *lpReserved, _Out_ uint32_t *lpType, void *lpData, _Inout_ uint32_t *lpcbData)',
    ) as QueryValue,
    close: advapi32.func('long __stdcall RegCloseKey(intptr_t hKey)') as CloseKey,
  };
}

/** The real registry, through advapi32 (Windows only; bound on first use). */
export class Win32RegistryReader implements RegistryReader {
  private api: Advapi32 | undefined;

  readValues(key: string, names: readonly string[]): Map<string, RegistryValue> | null {
    if (process.platform !== 'win32')
      throw new RegistryError('the Windows registry can only be read on Windows');
    this.api ??= bindAdvapi32();
    const api = this.api;
    const handle: [Handle] = [0];
    const opened = api.open(HKEY_LOCAL_MACHINE, key, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, handle);
    if (opened === ERROR_FILE_NOT_FOUND) return null;
    if (opened !== ERROR_SUCCESS)
      throw new RegistryError(`cannot open HKLM\\${key} (Windows error ${opened})`, opened);
    try {
      const values = new Map<string, RegistryValue>();
      for (const name of names) {
        const value = this.queryValue(api, handle[0], key, name);
        if (value) values.set(name, value);
      }
      return values;
    } finally {
      api.close(handle[0]);
    }
  }

  private queryValue(api: Advapi32, hkey: Handle, key: string, name: string): RegistryValue | null {
    // Size first, then the data; a value that grew in between answers ERROR_MORE_DATA: ask again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const type: [number] = [0];
      const size: [number] = [0];
      let status = api.query(hkey, name, null, type, null, size);
      if (status === ERROR_FILE_NOT_FOUND) return null;
      if (status !== ERROR_SUCCESS) break;
      const data = Buffer.alloc(size[0]);
      status = api.query(hkey, name, null, type, data, size);
      if (status === ERROR_MORE_DATA) continue;
      if (status === ERROR_FILE_NOT_FOUND) return null;
      if (status !== ERROR_SUCCESS)
        throw new RegistryError(`cannot read HKLM\\${key}\\${name} (Windows error ${status})`, status);
      return decodeRegistryValue(type[0], data.subarray(0, size[0]));
    }
    throw new RegistryError(`cannot read HKLM\\${key}\\${name}`);
  }
}
