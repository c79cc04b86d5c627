/**
 * The two ways the share publisher encrypts a PFX, and the pure choice between them from the
 * Windows builds the fleet's agents report (`osVersion` in their ActualState).
 *
 * - `tripledes-sha1`: pbeWithSHAAnd3-KeyTripleDES-CBC for the key bag and the certificate bag,
 *   an HMAC-SHA1 MAC, 2,000 iterations — what Windows calls "TripleDES-SHA1" and what Key Vault's
 *   own PFX secrets use (recorded Key Vault responses in the Azure SDK for JS:
 *   `keyvault-certificates/recordings/.../can_get_a_certificates_secret_in_pkcs_12_format`).
 *   Every Windows version imports it.
 * - `aes256-sha256`: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for both bags and an HMAC-SHA256
 *   MAC, 2,048 iterations — Windows' "AES256-SHA256" and OpenSSL 3's default.
 *
 * Which Windows imports AES-256: Microsoft documents `PKCS12_PBES2_ALG_AES256_SHA256`
 * (wincrypt.h, PKCS12_PBES2_EXPORT_PARAMS) with "minimum supported client: Windows 10 1709,
 * minimum supported server: Windows Server 2019". Server 2019 is build 17763 (1809); Server 2016
 * is 14393. The publisher writes a file every host must open, so it takes the server minimum:
 * AES only when every host reports build 17763 or later. A host that reports no version cannot
 * be proven able, so it keeps the fleet on TripleDES-SHA1 too. (The certificates API's
 * `encryption_unsupported_by_hosts` problem flags a file only when a host is certainly unable,
 * below the client minimum 16299: shared/certificates/rules.ts.)
 */
import { windowsBuild } from '../certificates/rules.js';
import type { CertBagEncryption, PfxMacAlgorithm } from './pfx.js';

export type PfxProfileId = 'tripledes-sha1' | 'aes256-sha256';

export interface PfxProfile {
  readonly id: PfxProfileId;
  /** The certificate bag's algorithm as shared/pkcs12's reader names it. */
  readonly certBag: CertBagEncryption;
  /** The key bag's algorithm as the reader names it. */
  readonly keyBag: string;
  readonly mac: PfxMacAlgorithm;
  /** Iterations of the MAC and of both bags' key derivation. */
  readonly iterations: number;
}

export const PFX_PROFILES: Readonly<Record<PfxProfileId, PfxProfile>> = {
  'tripledes-sha1': {
    id: 'tripledes-sha1',
    certBag: 'pbe-sha1-3des',
    keyBag: 'pbe-sha1-3des',
    mac: 'sha1',
    iterations: 2000,
  },
  'aes256-sha256': {
    id: 'aes256-sha256',
    certBag: 'pbes2-aes-256-cbc',
    keyBag: 'pbes2-aes-256-cbc',
    mac: 'sha256',
    iterations: 2048,
  },
};

/** The first Windows build documented to import an AES-256 (PBES2) PFX on a server: Server 2019. */
export const AES_PFX_MIN_WINDOWS_BUILD = 17763;

/** One enrolled host as the publisher sees it. */
export interface HostOsVersion {
  host: string;
  /** `10.0.17763` as the agent reported it; absent when the backend does not know. */
  osVersion?: string | null;
}

/** Why a host keeps the fleet on TripleDES-SHA1. */
export interface LegacyReason {
  host: string;
  osVersion: string | null;
  reason: 'windows-before-2019' | 'version-unknown';
}

export interface ProfileChoice {
  profile: PfxProfileId;
  /** The hosts that ruled AES out (empty when the profile is `aes256-sha256`). */
  heldBackBy: LegacyReason[];
}

/**
 * The strongest profile every host can import. An empty fleet gets `aes256-sha256`: nobody can
 * be harmed, and the next enrolment that needs less makes the publisher re-encrypt.
 */
export function choosePfxProfile(hosts: readonly HostOsVersion[]): ProfileChoice {
  const heldBackBy: LegacyReason[] = [];
  for (const { host, osVersion } of hosts) {
    const build = windowsBuild(osVersion);
    if (build === null) heldBackBy.push({ host, osVersion: osVersion ?? null, reason: 'version-unknown' });
    else if (build < AES_PFX_MIN_WINDOWS_BUILD) {
      heldBackBy.push({ host, osVersion: osVersion ?? null, reason: 'windows-before-2019' });
    }
  }
  heldBackBy.sort((a, b) => a.host.localeCompare(b.host));
  return { profile: heldBackBy.length === 0 ? 'aes256-sha256' : 'tripledes-sha1', heldBackBy };
}
