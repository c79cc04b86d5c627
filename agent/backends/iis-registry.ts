/**
 * IIS's Central Certificate Store state, read from the registry where IIS keeps it (what IIS
 * Administration's CentralCertificateStore.Refresh reads), never by parsing cmdlet output:
 *
 * - `HKLM\SOFTWARE\Microsoft\IIS\CentralCertProvider`: `Enabled` (DWORD), `CertStoreLocation`,
 *   `UserName` (strings), `PollingInterval` (DWORD seconds, 300 when absent), and the two
 *   encrypted passwords, which are never read here;
 * - `HKLM\SOFTWARE\Microsoft\InetStp\Components` `CertProvider` = 1: the Centralized SSL
 *   Certificate Support feature is installed (the IIS setup's component flags);
 * - `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending`
 *   (a key): Windows servicing waits for a restart, the signal Microsoft's pending-reboot checks
 *   (the Scripting Guys' Test-PendingReboot, ComputerManagementDsc's PendingReboot) use;
 * - `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`: `CurrentMajorVersionNumber`,
 *   `CurrentMinorVersionNumber` (DWORDs), `CurrentBuildNumber` (string) → `10.0.20348`.
 *
 * A value of an unexpected type is an error, not "disabled": reading it as disabled would make the
 * agent re-enable and report drift every minute.
 */
import type { ActualState } from '../../shared/messages.js';
import { RegistryError, type RegistryReader, type RegistryValue } from './windows-registry.js';

export const CCS_PROVIDER_KEY = 'SOFTWARE\\Microsoft\\IIS\\CentralCertProvider';
export const IIS_COMPONENTS_KEY = 'SOFTWARE\\Microsoft\\InetStp\\Components';
export const REBOOT_PENDING_KEY =
  'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending';
export const WINDOWS_VERSION_KEY = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion';

/** IIS's default when `PollingInterval` is absent (IIS Administration's DEFAULT_POLLING_INTERVAL). */
export const DEFAULT_POLLING_INTERVAL_SECONDS = 300;

/** The provider's settings (no password), as the registry holds them. */
export interface CcsProviderSettings {
  enabled: boolean;
  path: string | null;
  username: string | null;
  pollingIntervalSeconds: number;
}

function dword(values: Map<string, RegistryValue>, key: string, name: string): number | undefined {
  const value = values.get(name);
  if (value === undefined) return undefined;
  if (value.type !== 'REG_DWORD')
    throw new RegistryError(`HKLM\\${key}\\${name} is ${value.type}, not REG_DWORD`);
  return value.data;
}

function text(values: Map<string, RegistryValue>, key: string, name: string): string | null {
  const value = values.get(name);
  if (value === undefined) return null;
  if (value.type !== 'REG_SZ' && value.type !== 'REG_EXPAND_SZ') {
    throw new RegistryError(`HKLM\\${key}\\${name} is ${value.type}, not a string`);
  }
  return value.data === '' ? null : value.data;
}

export function readProviderSettings(registry: RegistryReader): CcsProviderSettings {
  const values =
    registry.readValues(CCS_PROVIDER_KEY, ['Enabled', 'CertStoreLocation', 'UserName', 'PollingInterval']) ??
    new Map<string, RegistryValue>();
  return {
    enabled: (dword(values, CCS_PROVIDER_KEY, 'Enabled') ?? 0) !== 0,
    path: text(values, CCS_PROVIDER_KEY, 'CertStoreLocation'),
    username: text(values, CCS_PROVIDER_KEY, 'UserName'),
    pollingIntervalSeconds:
      dword(values, CCS_PROVIDER_KEY, 'PollingInterval') ?? DEFAULT_POLLING_INTERVAL_SECONDS,
  };
}

function windowsVersion(registry: RegistryReader): string | undefined {
  const values = registry.readValues(WINDOWS_VERSION_KEY, [
    'CurrentMajorVersionNumber',
    'CurrentMinorVersionNumber',
    'CurrentBuildNumber',
  ]);
  if (!values) return undefined;
  const major = dword(values, WINDOWS_VERSION_KEY, 'CurrentMajorVersionNumber');
  const minor = dword(values, WINDOWS_VERSION_KEY, 'CurrentMinorVersionNumber');
  const build = text(values, WINDOWS_VERSION_KEY, 'CurrentBuildNumber');
  return major === undefined || minor === undefined || build === null
    ? undefined
    : `${major}.${minor}.${build}`;
}

/**
 * The ActualState the agent reports. `restartAsked`: this process installed the feature and
 * Windows asked for a restart; a later process sees the same through the pending-reboot key while
 * the feature is not yet installed.
 */
export function readIisState(registry: RegistryReader, restartAsked = false): ActualState {
  const components = registry.readValues(IIS_COMPONENTS_KEY, ['CertProvider']);
  const featureInstalled = components !== null && dword(components, IIS_COMPONENTS_KEY, 'CertProvider') === 1;
  const rebootPending = !featureInstalled && registry.readValues(REBOOT_PENDING_KEY, []) !== null;
  const provider = featureInstalled ? readProviderSettings(registry) : null;
  const osVersion = windowsVersion(registry);
  return {
    enabled: provider?.enabled ?? false,
    path: provider?.path ?? null,
    username: provider?.username ?? null,
    featureInstalled,
    rebootRequired: restartAsked || rebootPending,
    ...(osVersion ? { osVersion } : {}),
  };
}
