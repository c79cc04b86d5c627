/**
 * An in-memory command-signing key for unit tests of the agent loop: the API's side (sign a
 * digest with the current version, as Key Vault's `sign` does — shared ECDSA code with the local
 * Key Vault) and the agents' side (the public part of a version, or Key Vault's failures). The
 * integration suites use the local Key Vault and the real SDK instead.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { CommandPublicKeySource } from '../../agent/command-signature.js';
import { ecdsaSign } from '../../local/keyvault/key-crypto.js';
import type { CommandPublicKey, CommandSigningKey } from '../../shared/signing.js';

interface Version {
  d: Buffer;
  x: string;
  y: string;
  enabled: boolean;
  notBefore?: Date;
  expiresOn?: Date;
}

export class FakeCommandKeys implements CommandSigningKey, CommandPublicKeySource {
  private readonly versions = new Map<string, Version>();
  current = '';
  /** Versions read by agents (one entry per Key Vault read). */
  readonly reads: string[] = [];
  /** When set, every read fails with this HTTP status (503: Key Vault down; 403: no role). */
  failWith: number | undefined;

  constructor() {
    this.rotate();
  }

  /** A new version, which the API signs with from now on; returns it. */
  rotate(): string {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    const version = randomBytes(16).toString('hex');
    this.versions.set(version, {
      d: Buffer.from(jwk.d ?? '', 'base64url'),
      x: jwk.x ?? '',
      y: jwk.y ?? '',
      enabled: true,
    });
    this.current = version;
    return version;
  }

  update(version: string, change: Partial<Pick<Version, 'enabled' | 'notBefore' | 'expiresOn'>>): void {
    const found = this.versions.get(version);
    if (!found) throw new Error(`no version ${version}`);
    Object.assign(found, change);
  }

  sign(digest: Buffer): Promise<{ kid: string; signature: Buffer }> {
    const found = this.versions.get(this.current)!;
    return Promise.resolve({ kid: this.current, signature: ecdsaSign('P-256', found.d, digest) });
  }

  get(version: string): Promise<CommandPublicKey> {
    this.reads.push(version);
    const failure = (statusCode: number) =>
      Promise.reject(
        Object.assign(new Error(`Key Vault getKey failed (HTTP ${statusCode})`), { statusCode }),
      );
    if (this.failWith !== undefined) return failure(this.failWith);
    const found = this.versions.get(version.toLowerCase());
    if (!found) return failure(404);
    return Promise.resolve({
      version,
      enabled: found.enabled,
      ...(found.notBefore && { notBefore: found.notBefore }),
      ...(found.expiresOn && { expiresOn: found.expiresOn }),
      keyOps: ['sign', 'verify'],
      jwk: { kty: 'EC', crv: 'P-256', x: found.x, y: found.y },
    });
  }
}
