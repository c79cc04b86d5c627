/**
 * Key Vault's JSON shapes (REST API 7.x / 2025-07-01) for the local endpoint: request bodies
 * in, secret bundles and list items out. Only `getSecret` and `setSecret` carry a value, as in
 * Azure (update, delete, recover and lists never return one). Validation messages name the
 * property at fault, never its content.
 */
import { z } from 'zod';
import {
  VaultError,
  type SetInput,
  type StoredSecret,
  type StoredVersion,
  type UpdateInput,
} from './vault.js';

const RECOVERY = { recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 } as const;

// `null` is accepted as "absent": Azure tolerates it and some clients send it.
const AttributesInput = z
  .object({
    enabled: z.boolean().nullish(),
    nbf: z.number().int().nullish(),
    exp: z.number().int().nullish(),
  })
  .nullish();
const CommonInput = {
  contentType: z.string().max(255).nullish(),
  tags: z.record(z.string(), z.string()).nullish(),
  attributes: AttributesInput,
};
const SetInputSchema = z.object({ value: z.string(), ...CommonInput });
const UpdateInputSchema = z.object(CommonInput);

export const errorBody = (code: string, message: string, innerCode?: string) => ({
  error: { code, message, ...(innerCode !== undefined && { innererror: { code: innerCode } }) },
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const where = result.error.issues[0]?.path.join('.') || 'body';
  throw new VaultError(400, 'BadParameter', `The request body is invalid at '${where}'.`);
}

function withoutNulls(input: z.infer<typeof UpdateInputSchema>): UpdateInput {
  const out: UpdateInput = {};
  if (input.contentType != null) out.contentType = input.contentType;
  if (input.tags != null) out.tags = { ...input.tags };
  if (input.attributes?.enabled != null) out.enabled = input.attributes.enabled;
  if (input.attributes?.nbf != null) out.nbf = input.attributes.nbf;
  if (input.attributes?.exp != null) out.exp = input.attributes.exp;
  return out;
}

export function parseSetBody(body: unknown): SetInput {
  const input = parse(SetInputSchema, body);
  return { value: input.value, ...withoutNulls(input) };
}

export function parseUpdateBody(body: unknown): UpdateInput {
  return withoutNulls(parse(UpdateInputSchema, body));
}

function attributes(version: StoredVersion) {
  return { ...version.attributes, ...RECOVERY };
}

function latest(secret: StoredSecret): StoredVersion {
  // The schema guarantees at least one version; this keeps the type checker honest.
  const version = secret.versions.at(-1);
  if (!version) throw new VaultError(500, 'InternalError', 'A stored secret has no versions.');
  return version;
}

function describe(version: StoredVersion) {
  return {
    ...(version.contentType !== undefined && { contentType: version.contentType }),
    ...(version.tags !== undefined && { tags: version.tags }),
    attributes: attributes(version),
  };
}

/**
 * The secret of a certificate says so: `managed: true` and the `kid` of the certificate's key
 * (recorded Key Vault responses in the Azure SDK for JS, keyvault-certificates recordings).
 */
function managed(base: string, secret: StoredSecret, version?: StoredVersion) {
  if (!secret.managed) return {};
  return { managed: true, ...(version && { kid: `${base}/keys/${secret.name}/${version.version}` }) };
}

/** SecretBundle: `id` is `<vault>/secrets/<name>/<version>`. */
export function secretBundle(base: string, secret: StoredSecret, version: StoredVersion, withValue: boolean) {
  return {
    ...(withValue && { value: version.value }),
    id: `${base}/secrets/${secret.name}/${version.version}`,
    ...describe(version),
    ...managed(base, secret, version),
  };
}

/** SecretItem in `GET /secrets`: the secret (no version in the id) with its latest version's properties. */
export function secretItem(base: string, secret: StoredSecret) {
  return { id: `${base}/secrets/${secret.name}`, ...describe(latest(secret)), ...managed(base, secret) };
}

/** SecretItem in `GET /secrets/{name}/versions`. */
export function versionItem(base: string, secret: StoredSecret, version: StoredVersion) {
  return {
    id: `${base}/secrets/${secret.name}/${version.version}`,
    ...describe(version),
    ...managed(base, secret),
  };
}

function deletion(base: string, secret: StoredSecret) {
  return {
    recoveryId: `${base}/deletedsecrets/${secret.name}`,
    deletedDate: secret.deleted?.deletedDate,
    scheduledPurgeDate: secret.deleted?.scheduledPurgeDate,
  };
}

/** DeletedSecretBundle: the latest version's properties plus the deletion facts (no value). */
export function deletedBundle(base: string, secret: StoredSecret) {
  return { ...deletion(base, secret), ...secretBundle(base, secret, latest(secret), false) };
}

/** DeletedSecretItem in `GET /deletedsecrets`. */
export function deletedItem(base: string, secret: StoredSecret) {
  return { ...deletion(base, secret), ...secretItem(base, secret) };
}

/** The latest version's bundle without a value (recover's response). */
export function latestBundle(base: string, secret: StoredSecret) {
  return secretBundle(base, secret, latest(secret), false);
}
