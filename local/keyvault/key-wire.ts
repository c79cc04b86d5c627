/**
 * Key Vault's key JSON shapes (REST API 2025-07-01, as @azure/keyvault-keys 4.10.2 serialises
 * and deserialises them in `models/models.js`): create/update/sign/verify bodies in, key bundles,
 * list items and operation results out. Shapes follow the SDK's recordings (e.g.
 * `sign__signdata_and_verify__verifydata_using_es256`): a bundle is `{ key: JWK, attributes }`
 * with `kid` = `<vault>/keys/<name>/<version>` and `attributes.exportable: false`; `sign`
 * answers `{ kid, value }`, `verify` answers `{ value: true|false }`. Validation messages name
 * the property at fault.
 */
import { z } from 'zod';
import type { StoredKey, StoredKeyVersion } from './key-schema.js';
import { VaultError } from './vault.js';

const RECOVERY = { recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 } as const;
const KEY_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export'] as const;
const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');

// `null` is accepted as "absent": the SDK sends `attributes: {}` and some clients send nulls.
const Attributes = z
  .object({
    enabled: z.boolean().nullish(),
    nbf: z.number().int().nullish(),
    exp: z.number().int().nullish(),
    exportable: z.boolean().nullish(),
  })
  .nullish();
const Tags = z.record(z.string(), z.string()).nullish();
const KeyOps = z.array(z.enum(KEY_OPS)).nullish();

const CreateSchema = z.object({
  kty: z.string(),
  key_size: z.number().int().nullish(),
  public_exponent: z.number().int().nullish(),
  key_ops: KeyOps,
  attributes: Attributes,
  tags: Tags,
  crv: z.string().nullish(),
});
const UpdateSchema = z.object({ key_ops: KeyOps, attributes: Attributes, tags: Tags });
const SignSchema = z.object({ alg: z.string().min(1), value: base64url });
const VerifySchema = z.object({ alg: z.string().min(1), digest: base64url, value: base64url });

export interface CreateKeyInput {
  kty: 'EC' | 'RSA';
  crv?: 'P-256' | 'P-384' | 'P-521';
  keySize?: 2048 | 3072 | 4096;
  publicExponent?: number;
  keyOps?: string[];
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  tags?: Record<string, string>;
}

export interface UpdateKeyInput {
  keyOps?: string[];
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  tags?: Record<string, string>;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const where = result.error.issues[0]?.path.join('.') || 'body';
  throw new VaultError(400, 'BadParameter', `The request body is invalid at '${where}'.`);
}

const bad = (message: string): VaultError => new VaultError(400, 'BadParameter', message);

export function parseCreateKeyBody(body: unknown): CreateKeyInput {
  const input = parse(CreateSchema, body);
  if (input.kty !== 'EC' && input.kty !== 'RSA') {
    // EC-HSM/RSA-HSM need a Premium vault or a Managed HSM; oct is Managed HSM only.
    throw bad(`The key type '${input.kty}' is not supported by this vault (use EC or RSA).`);
  }
  const out: CreateKeyInput = { kty: input.kty };
  if (input.kty === 'EC') {
    if (input.crv != null && !['P-256', 'P-384', 'P-521'].includes(input.crv)) {
      throw bad(`The curve '${input.crv}' is not supported by the local Key Vault (P-256, P-384, P-521).`);
    }
    if (input.crv != null) out.crv = input.crv as CreateKeyInput['crv'];
  } else {
    if (input.key_size != null) {
      if (![2048, 3072, 4096].includes(input.key_size)) throw bad('The key size must be 2048, 3072 or 4096.');
      out.keySize = input.key_size as CreateKeyInput['keySize'];
    }
    if (input.public_exponent != null) out.publicExponent = input.public_exponent;
  }
  return { ...out, ...common(input) };
}

function common(input: z.infer<typeof UpdateSchema>): UpdateKeyInput {
  const out: UpdateKeyInput = {};
  if (input.key_ops != null) out.keyOps = [...input.key_ops];
  if (input.tags != null) out.tags = { ...input.tags };
  if (input.attributes?.enabled != null) out.enabled = input.attributes.enabled;
  if (input.attributes?.nbf != null) out.nbf = input.attributes.nbf;
  if (input.attributes?.exp != null) out.exp = input.attributes.exp;
  if (input.attributes?.exportable === true) {
    throw bad('Exportable keys need a release policy, which the local Key Vault does not support.');
  }
  return out;
}

export function parseUpdateKeyBody(body: unknown): UpdateKeyInput {
  return common(parse(UpdateSchema, body));
}

export function parseSignBody(body: unknown): { alg: string; digest: Buffer } {
  const input = parse(SignSchema, body);
  return { alg: input.alg, digest: Buffer.from(input.value, 'base64url') };
}

export function parseVerifyBody(body: unknown): { alg: string; digest: Buffer; signature: Buffer } {
  const input = parse(VerifySchema, body);
  return {
    alg: input.alg,
    digest: Buffer.from(input.digest, 'base64url'),
    signature: Buffer.from(input.value, 'base64url'),
  };
}

const kid = (base: string, key: StoredKey, version: StoredKeyVersion): string =>
  `${base}/keys/${key.name}/${version.version}`;

function attributes(version: StoredKeyVersion) {
  return { ...version.attributes, ...RECOVERY, exportable: false };
}

/** KeyBundle: the public JWK (never `d`, `p`, `q`…), attributes and tags. */
export function keyBundle(base: string, key: StoredKey, version: StoredKeyVersion) {
  return {
    key: { kid: kid(base, key, version), kty: version.kty, key_ops: version.keyOps, ...version.publicJwk },
    attributes: attributes(version),
    ...(version.tags !== undefined && { tags: version.tags }),
  };
}

/** KeyItem in `GET /keys`: the key (no version in `kid`) with its newest version's attributes. */
export function keyItem(base: string, key: StoredKey) {
  const newest = key.versions.at(-1) ?? key.versions[0]!;
  return {
    kid: `${base}/keys/${key.name}`,
    attributes: attributes(newest),
    ...(newest.tags !== undefined && { tags: newest.tags }),
  };
}

/** KeyItem in `GET /keys/{name}/versions`. */
export function keyVersionItem(base: string, key: StoredKey, version: StoredKeyVersion) {
  return {
    kid: kid(base, key, version),
    attributes: attributes(version),
    ...(version.tags !== undefined && { tags: version.tags }),
  };
}

/** KeyOperationResult of `sign`. */
export function operationResult(base: string, key: StoredKey, version: StoredKeyVersion, value: Buffer) {
  return { kid: kid(base, key, version), value: value.toString('base64url') };
}
