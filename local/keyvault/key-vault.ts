/**
 * The local Key Vault's keys: create (EC P-256/P-384/P-521, RSA 2048/3072/4096), get (public part
 * only), versions, list, update, sign and verify — with Key Vault's rules as its REST reference
 * and the keyvault-keys SDK's recordings show them:
 *
 * - `create` on an existing name adds a version ("If the named key already exists, Azure Key
 *   Vault creates a new version of the key": Keys - Create Key). Defaults: an EC key without
 *   `crv` is P-256, `key_ops` default to sign/verify for EC (recording
 *   `sign__signdata_and_verify__verifydata_using_es256`) and to every RSA operation for RSA.
 * - `get` returns the JWK's public members only; the private key is never served.
 * - A disabled version is still returned by `get` (with `enabled: false`: clients check it, e.g.
 *   notaryproject/ratify#1474), but `sign`/`verify` on it are refused 403 Forbidden with inner
 *   code KeyDisabled, as a disabled secret's `get` is (vault.ts). The same 403 for a version
 *   outside its nbf/exp, or an operation its `key_ops` does not list.
 * - `sign` takes a digest whose length must match the algorithm's hash; the algorithm must suit
 *   the key type (`ES256` needs P-256, `RS*` an RSA key).
 * - A missing key is 404 KeyNotFound with the service's text (recording `can_delete_a_key`).
 *
 * Limits of this stand-in: no import, delete/recover/purge, backup/restore, rotate or rotation
 * policy, release, wrap/unwrap or encrypt/decrypt; no PS256/PS384/PS512 (refused 400 naming the
 * limit); no HSM key types (a standard-SKU vault has none either).
 */
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  CURVES,
  EC_DIGEST_BYTES,
  RSA_DIGEST_INFO,
  ecdsaSign,
  ecdsaVerify,
  rsaSign,
  rsaVerify,
  type Curve,
  type RsaAlgorithm,
} from './key-crypto.js';
import type { StoredKey, StoredKeyVersion } from './key-schema.js';
import type { CreateKeyInput, UpdateKeyInput } from './key-wire.js';
import { VaultError, newAttributes, nowSeconds, validateName, type Vault } from './vault.js';

export const EC_DEFAULT_OPS = ['sign', 'verify'];
export const RSA_DEFAULT_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];

const notFound = (name: string): VaultError =>
  new VaultError(
    404,
    'KeyNotFound',
    `A key with (name/id) ${name} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );

const badParameter = (message: string): VaultError => new VaultError(400, 'BadParameter', message);

function generate(input: CreateKeyInput): Pick<StoredKeyVersion, 'kty' | 'privateKey' | 'publicJwk'> {
  if (input.kty === 'EC') {
    const crv = input.crv ?? 'P-256';
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: crv });
    const jwk = privateKey.export({ format: 'jwk' });
    return {
      kty: 'EC',
      privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      publicJwk: { crv, x: jwk.x ?? '', y: jwk.y ?? '' },
    };
  }
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: input.keySize ?? 2048,
    publicExponent: input.publicExponent ?? 65537,
  });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    kty: 'RSA',
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicJwk: { n: jwk.n ?? '', e: jwk.e ?? '' },
  };
}

/** What `sign`/`verify` may do with a version, or the 403 Key Vault answers. */
function usable(version: StoredKeyVersion, operation: 'sign' | 'verify'): void {
  const { enabled, nbf, exp } = version.attributes;
  if (!enabled) {
    throw new VaultError(
      403,
      'Forbidden',
      `Operation ${operation} is not allowed on a disabled key.`,
      'KeyDisabled',
    );
  }
  const now = nowSeconds();
  if ((nbf !== undefined && now < nbf) || (exp !== undefined && now >= exp)) {
    throw new VaultError(
      403,
      'Forbidden',
      `Operation ${operation} is not allowed on a key outside its validity period.`,
      'KeyNotYetValidOrExpired',
    );
  }
  if (!version.keyOps.includes(operation)) {
    throw new VaultError(403, 'Forbidden', `Operation ${operation} is not permitted on this key.`);
  }
}

/** Checks the algorithm against the key and the digest against the algorithm. */
function signer(version: StoredKeyVersion, alg: string, digest: Buffer) {
  if (/^PS(256|384|512)$/.test(alg)) {
    throw badParameter(`The algorithm ${alg} is not supported by the local Key Vault (use RS* or ES*).`);
  }
  if (version.kty === 'EC' && 'crv' in version.publicJwk) {
    const curve: Curve = version.publicJwk.crv;
    if (CURVES[curve].alg !== alg) throw badParameter(`Key and signing algorithm ${alg} are incompatible.`);
    if (digest.length !== EC_DIGEST_BYTES[CURVES[curve].alg]) throw badParameter('Invalid digest length.');
    const d = privateScalar(version);
    return {
      sign: () => ecdsaSign(curve, d, digest),
      verify: (signature: Buffer) => ecdsaVerify(curve, d, digest, signature),
    };
  }
  if (version.kty !== 'RSA' || !Object.hasOwn(RSA_DIGEST_INFO, alg)) {
    throw badParameter(`Key and signing algorithm ${alg} are incompatible.`);
  }
  const rsaAlg = alg as RsaAlgorithm;
  if (digest.length !== RSA_DIGEST_INFO[rsaAlg].bytes) throw badParameter('Invalid digest length.');
  return {
    sign: () => rsaSign(version.privateKey, rsaAlg, digest),
    verify: (signature: Buffer) => rsaVerify(version.privateKey, rsaAlg, digest, signature),
  };
}

/**
 * The private scalar `d` of an EC version (only for the one operation that needs it), derived
 * once per version: parsing the PEM on every `sign` was most of the stand-in's CPU when a
 * benchmark signs a command per host. A version's key material never changes.
 */
const scalars = new WeakMap<StoredKeyVersion, Buffer>();
function privateScalar(version: StoredKeyVersion): Buffer {
  let d = scalars.get(version);
  if (!d) {
    d = Buffer.from(createPrivateKey(version.privateKey).export({ format: 'jwk' }).d ?? '', 'base64url');
    scalars.set(version, d);
  }
  return d;
}

export class VaultKeys {
  constructor(private readonly vault: Vault) {}

  private get keys(): Map<string, StoredKey> {
    return this.vault.keys;
  }

  async create(name: string, input: CreateKeyInput): Promise<{ key: StoredKey; version: StoredKeyVersion }> {
    validateName(name);
    let key = this.keys.get(name.toLowerCase());
    const version: StoredKeyVersion = {
      version: randomBytes(16).toString('hex'),
      ...generate(input),
      keyOps: input.keyOps ?? (input.kty === 'EC' ? EC_DEFAULT_OPS : RSA_DEFAULT_OPS),
      attributes: newAttributes(input),
      ...(input.tags !== undefined && { tags: input.tags }),
    };
    if (key) key.versions.push(version);
    else {
      key = { name, versions: [version] };
      this.keys.set(name.toLowerCase(), key);
    }
    await this.vault.commit();
    return { key, version };
  }

  /** Exactly `version`, or the newest version when `version` is empty (disabled ones included). */
  get(name: string, version: string): { key: StoredKey; version: StoredKeyVersion } {
    const key = this.active(name);
    const found = version
      ? key.versions.find((v) => v.version === version.toLowerCase())
      : key.versions.at(-1);
    if (!found) throw notFound(version ? `${name}/${version}` : name);
    return { key, version: found };
  }

  list(): StoredKey[] {
    return [...this.keys.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  versions(name: string): StoredKey {
    return this.active(name);
  }

  async update(
    name: string,
    version: string,
    patch: UpdateKeyInput,
  ): Promise<{ key: StoredKey; version: StoredKeyVersion }> {
    const found = this.get(name, version);
    const target = found.version;
    if (patch.keyOps !== undefined) target.keyOps = patch.keyOps;
    if (patch.tags !== undefined) target.tags = patch.tags;
    if (patch.enabled !== undefined) target.attributes.enabled = patch.enabled;
    if (patch.nbf !== undefined) target.attributes.nbf = patch.nbf;
    if (patch.exp !== undefined) target.attributes.exp = patch.exp;
    target.attributes.updated = nowSeconds();
    await this.vault.commit();
    return found;
  }

  sign(
    name: string,
    version: string,
    alg: string,
    digest: Buffer,
  ): { key: StoredKey; version: StoredKeyVersion; signature: Buffer } {
    const found = this.get(name, version);
    usable(found.version, 'sign');
    return { ...found, signature: signer(found.version, alg, digest).sign() };
  }

  verify(name: string, version: string, alg: string, digest: Buffer, signature: Buffer): boolean {
    const found = this.get(name, version);
    usable(found.version, 'verify');
    return signer(found.version, alg, digest).verify(signature);
  }

  private active(name: string): StoredKey {
    validateName(name);
    const key = this.keys.get(name.toLowerCase());
    if (!key) throw notFound(name);
    return key;
  }
}
