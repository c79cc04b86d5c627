/**
 * The simulated IIS's Central Certificate Provider: the certificate a TLS handshake gets for the
 * host name the client sent (SNI), found and opened the way IIS does it.
 *
 * - Lookup: shared/coverage.ts — `<host>.pfx`, else `_.<parent>.pfx`, case-insensitively.
 * - Opening: the file is read from the store folder that the provider settings (the simulated
 *   `HKLM\SOFTWARE\Microsoft\IIS\CentralCertProvider` key) name, only when their identity may
 *   read that share, and decrypted with their private-key password (node's OpenSSL, as IIS hands
 *   the file to CryptoAPI). A missing file, a wrong password, a misnamed wildcard, a disabled
 *   provider or an identity that cannot read the share fails the handshake — http.sys then
 *   resets the connection, as node does when the SNI callback fails.
 * - Caching: IIS 8 loads a CCS certificate on first use and keeps it in memory ("IIS 8.0
 *   Centralized SSL Certificate Support"; "Central Certificate Store (CCS) with IIS", IIS support
 *   blog: certificates are "loaded on demand and cached for future use"). The provider looks at
 *   the store again every `PollingInterval` seconds (a value of the same registry key, 300 by
 *   default — read from the IIS Administration source). So a file replaced in the share is served
 *   only once the interval has passed: until then the old certificate is served, which the serving
 *   check reports as `mismatch`. Change notifications are not simulated (the polling interval is
 *   the documented knob). New provider settings (another path, identity or password) start an
 *   empty cache: a decision of this simulation, since a reconfigured provider reads a new store.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ccsFileFor, ccsLookupName, indexCcsFiles } from '../../../shared/coverage.js';

/** What the provider needs from the simulated registry and share accounts, decrypted. */
export interface CcsProviderState {
  enabled: boolean;
  /** The local folder behind `CertStoreLocation`; null when it does not exist. */
  folder: string | null;
  /** Whether `UserName`/`Password` may read that share. */
  identityCanRead: boolean;
  privateKeyPassword: string | null;
  /** A fault injected into this simulated IIS (agent/backends/simulated.ts `injectedFault`); null: none. */
  fault?: string | null;
  pollingIntervalMs: number;
  /** Changes whenever any provider setting does. */
  version: string;
}

interface CachedCertificate {
  file: string;
  stamp: string;
  context: SecureContext;
  checkedAt: number;
}

/** Why a handshake got no certificate: the simulated IIS logs it, the client sees a reset. */
export class NoCertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoCertificateError';
  }
}

export class SimulatedCcsProvider {
  private readonly cache = new Map<string, CachedCertificate>();
  private version: string | null = null;

  constructor(
    private readonly state: () => Promise<CcsProviderState>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The TLS context for `serverName`; throws NoCertificateError when IIS would have none. */
  async contextFor(serverName: string): Promise<SecureContext> {
    const state = await this.state();
    if (state.version !== this.version) {
      this.cache.clear();
      this.version = state.version;
    }
    if (!state.enabled) throw new NoCertificateError('the Central Certificate Store is disabled');
    if (state.folder === null) throw new NoCertificateError('the certificate store path does not exist');
    if (!state.identityCanRead) throw new NoCertificateError('the store identity cannot read the share');
    if (state.fault) throw new NoCertificateError(state.fault);
    const name = ccsLookupName(serverName);
    if (name === null) throw new NoCertificateError(`"${serverName}" is not a host name`);

    const cached = this.cache.get(name);
    if (cached && this.now() - cached.checkedAt < state.pollingIntervalMs) return cached.context;

    const file = ccsFileFor(name, indexCcsFiles(await readdir(state.folder)));
    if (file === null) {
      this.cache.delete(name);
      throw new NoCertificateError(`the store has no file for ${name}`);
    }
    const path = join(state.folder, file);
    const info = await stat(path);
    const stamp = `${file}|${info.mtimeMs}|${info.size}`;
    if (cached && cached.stamp === stamp) {
      cached.checkedAt = this.now();
      return cached.context;
    }
    let context: SecureContext;
    try {
      context = createSecureContext({
        pfx: await readFile(path),
        passphrase: state.privateKeyPassword ?? '',
      });
    } catch (error) {
      this.cache.delete(name);
      const reason = error instanceof Error ? error.message : 'unreadable';
      throw new NoCertificateError(`${file} does not open with the store's private-key password (${reason})`);
    }
    this.cache.set(name, { file, stamp, context, checkedAt: this.now() });
    return context;
  }
}
