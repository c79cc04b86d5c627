/**
 * The Windows errors a store check can meet, and what each one says about the input. One table
 * for every backend and stand-in, so that the same mistake gives the same answer everywhere.
 *
 * Codes from the Win32 "System Error Codes" reference (winerror.h). Which one Windows returns for
 * which mistake: LogonUser (advapi32) answers 1326 for an unknown account as well as a wrong
 * password, 1385 when the account lacks the logon right of the logon type (LOGON32_LOGON_INTERACTIVE
 * needs "Allow log on locally"), and 1327–1331, 1793, 1907, 1909 for an account that exists but
 * may not log on now. Reading a folder answers 2/3 (no such file/folder), 53 (no such server),
 * 67 (no such share) or 5 (no permission).
 */
import type { StoreAccessFailure } from './backend.js';

const FAILURES: Readonly<Record<number, StoreAccessFailure>> = {
  86: 'LogonFailed', // ERROR_INVALID_PASSWORD
  1317: 'LogonFailed', // ERROR_NO_SUCH_USER
  1326: 'LogonFailed', // ERROR_LOGON_FAILURE: unknown user name or bad password
  1385: 'LogonTypeNotGranted', // ERROR_LOGON_TYPE_NOT_GRANTED
  1327: 'AccountUnavailable', // ERROR_ACCOUNT_RESTRICTION (e.g. blank password, protected users)
  1328: 'AccountUnavailable', // ERROR_INVALID_LOGON_HOURS
  1329: 'AccountUnavailable', // ERROR_INVALID_WORKSTATION
  1330: 'AccountUnavailable', // ERROR_PASSWORD_EXPIRED
  1331: 'AccountUnavailable', // ERROR_ACCOUNT_DISABLED
  1793: 'AccountUnavailable', // ERROR_ACCOUNT_EXPIRED
  1907: 'AccountUnavailable', // ERROR_PASSWORD_MUST_CHANGE
  1909: 'AccountUnavailable', // ERROR_ACCOUNT_LOCKED_OUT
  2: 'PathNotFound', // ERROR_FILE_NOT_FOUND
  3: 'PathNotFound', // ERROR_PATH_NOT_FOUND
  53: 'PathNotFound', // ERROR_BAD_NETPATH: no such server
  67: 'PathNotFound', // ERROR_BAD_NET_NAME: no such share
  161: 'PathNotFound', // ERROR_BAD_PATHNAME
  1203: 'PathNotFound', // ERROR_NO_NET_OR_BAD_PATH
  5: 'AccessDenied', // ERROR_ACCESS_DENIED
  65: 'AccessDenied', // ERROR_NETWORK_ACCESS_DENIED
};

/**
 * What a Windows error says about the input, or null when it says nothing about it and the check
 * should run again later: 1311 (no domain controller answered), 1219 (a credential conflict in the
 * caller's own logon session, which the impersonated check cannot meet), network timeouts, and any
 * code not listed here.
 */
export function storeAccessFailure(win32: number | null | undefined): StoreAccessFailure | null {
  if (win32 === null || win32 === undefined) return null;
  return FAILURES[win32] ?? null;
}

/** The Windows errors of one kind (for stand-ins and tests). */
export function win32CodesOf(failure: StoreAccessFailure): number[] {
  return Object.entries(FAILURES)
    .filter(([, f]) => f === failure)
    .map(([code]) => Number(code));
}
