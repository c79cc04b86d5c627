/**
 * Key Vault's certificate JSON (REST API 7.x / 2025-07-01, as the Azure SDK for JS
 * @azure/keyvault-certificates 4.10.3 serialises and deserialises it in `models/models.js`):
 * request bodies in (import, create, update, policy), CertificateBundle, CertificateItem,
 * DeletedCertificateBundle and CertificateOperation out. Shapes and defaults follow the
 * responses recorded against the real service in the SDK's recordings
 * (`sdk/keyvault/keyvault-certificates/recordings/node/…`). Validation messages name the
 * property at fault, never a value.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type {
  StoredCertificate,
  StoredCertificateVersion,
  StoredOperation,
  StoredPolicy,
} from './certificate-schema.js';
import { VaultError } from './vault.js';

export const PKCS12 = 'application/x-pkcs12';
export const PEM = 'application/x-pem-file';
/** What the recordings show for a vault with soft delete (the secrets routes say the same). */
const RECOVERY = { recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 } as const;

const KEY_USAGES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

// `null` is accepted as "absent" everywhere: Azure tolerates it and some clients send it.
const Attributes = z
  .object({
    enabled: z.boolean().nullish(),
    nbf: z.number().int().nullish(),
    exp: z.number().int().nullish(),
  })
  .nullish();
const Tags = z.record(z.string().max(256), z.string().max(256)).nullish();
const Names = z.array(z.string().min(1).max(253)).max(1000).nullish();

const PolicyInput = z
  .object({
    key_props: z
      .object({
        exportable: z.boolean().nullish(),
        kty: z.enum(['RSA', 'RSA-HSM', 'EC', 'EC-HSM']).nullish(),
        key_size: z.union([z.literal(2048), z.literal(3072), z.literal(4096)]).nullish(),
        reuse_key: z.boolean().nullish(),
        crv: z.enum(['P-256', 'P-384', 'P-521', 'P-256K']).nullish(),
      })
      .nullish(),
    secret_props: z.object({ contentType: z.enum([PKCS12, PEM]).nullish() }).nullish(),
    x509_props: z
      .object({
        subject: z.string().min(1).max(1024).nullish(),
        sans: z
          .object({ dns_names: Names, emails: Names, upns: Names, uris: Names, ipAddresses: Names })
          .nullish(),
        ekus: z
          .array(z.string().regex(/^\d+(\.\d+)+$/))
          .max(50)
          .nullish(),
        key_usage: z.array(z.enum(KEY_USAGES)).nullish(),
        validity_months: z.number().int().min(1).max(1200).nullish(),
      })
      .nullish(),
    lifetime_actions: z
      .array(
        z.object({
          trigger: z
            .object({
              lifetime_percentage: z.number().int().min(1).max(99).nullish(),
              days_before_expiry: z.number().int().min(1).nullish(),
            })
            .nullish(),
          action: z.object({ action_type: z.enum(['EmailContacts', 'AutoRenew']).nullish() }).nullish(),
        }),
      )
      .max(1)
      .nullish(),
    issuer: z
      .object({
        name: z.string().max(127).nullish(),
        cty: z.string().nullish(),
        cert_transparency: z.boolean().nullish(),
      })
      .nullish(),
    attributes: Attributes,
  })
  .nullish();
export type PolicyInput = z.infer<typeof PolicyInput>;

const ImportInput = z.object({
  value: z.string().min(1),
  pwd: z.string().nullish(),
  policy: PolicyInput,
  attributes: Attributes,
  tags: Tags,
  preserveCertOrder: z.boolean().nullish(),
});
const CreateInput = z.object({ policy: PolicyInput, attributes: Attributes, tags: Tags });
const UpdateInput = z.object({ policy: PolicyInput, attributes: Attributes, tags: Tags });

export type ImportInput = z.infer<typeof ImportInput>;
export type CreateInput = z.infer<typeof CreateInput>;
export type UpdateInput = z.infer<typeof UpdateInput>;

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const where = result.error.issues[0]?.path.join('.') || 'body';
  throw new VaultError(400, 'BadParameter', `The request body is invalid at '${where}'.`);
}

export const parseImportBody = (body: unknown): ImportInput => parse(ImportInput, body);
export const parseCreateBody = (body: unknown): CreateInput => parse(CreateInput, body);
export const parseUpdateBody = (body: unknown): UpdateInput => parse(UpdateInput, body);
export const parsePolicyBody = (body: unknown): NonNullable<PolicyInput> => parse(PolicyInput, body) ?? {};

/** The policy a new certificate starts from: the values the recordings show for a `Self` create. */
export function defaultPolicy(now: number, issuer: 'Self' | 'Unknown'): StoredPolicy {
  return {
    key_props: { exportable: true, kty: 'RSA', key_size: 2048, reuse_key: false },
    secret_props: { contentType: PKCS12 },
    x509_props: {
      subject: '',
      sans: {},
      ekus: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
      key_usage: ['digitalSignature', 'keyEncipherment'],
      validity_months: 12,
      basic_constraints: { ca: false },
    },
    lifetime_actions: [
      {
        trigger: { lifetime_percentage: 80 },
        action: { action_type: issuer === 'Self' ? 'AutoRenew' : 'EmailContacts' },
      },
    ],
    issuer: { name: issuer },
    attributes: { enabled: true, created: now, updated: now },
  };
}

/** `base` with every property `input` sets (a PATCH of the policy, or a create's policy). */
export function mergePolicy(base: StoredPolicy, input: PolicyInput, now: number): StoredPolicy {
  if (!input) return base;
  const kp = input.key_props ?? {};
  const xp = input.x509_props ?? {};
  const kty = kp.kty ?? base.key_props.kty;
  const ec = kty.startsWith('EC');
  const sans = xp.sans
    ? Object.fromEntries(Object.entries(xp.sans).filter((e): e is [string, string[]] => Array.isArray(e[1])))
    : base.x509_props.sans;
  return {
    key_props: {
      exportable: kp.exportable ?? base.key_props.exportable,
      kty,
      ...(ec
        ? { crv: kp.crv ?? base.key_props.crv ?? 'P-256' }
        : { key_size: kp.key_size ?? base.key_props.key_size ?? 2048 }),
      reuse_key: kp.reuse_key ?? base.key_props.reuse_key,
    },
    secret_props: { contentType: input.secret_props?.contentType ?? base.secret_props.contentType },
    x509_props: {
      subject: xp.subject ?? base.x509_props.subject,
      sans,
      ekus: xp.ekus ?? base.x509_props.ekus,
      key_usage: xp.key_usage ?? base.x509_props.key_usage,
      validity_months: xp.validity_months ?? base.x509_props.validity_months,
      basic_constraints: base.x509_props.basic_constraints,
    },
    lifetime_actions: input.lifetime_actions ?? base.lifetime_actions,
    issuer: {
      name: input.issuer?.name ?? base.issuer.name,
      ...(input.issuer?.cty != null && { cty: input.issuer.cty }),
      ...(input.issuer?.cert_transparency != null && { cert_transparency: input.issuer.cert_transparency }),
    },
    attributes: {
      enabled: input.attributes?.enabled ?? base.attributes.enabled,
      created: base.attributes.created,
      updated: now,
    },
  };
}

/** Key Vault's `x5t`: the SHA-1 thumbprint of the DER certificate, base64url. */
export const x5tOf = (der: Buffer): string => createHash('sha1').update(der).digest('base64url');

function latestVersion(cert: StoredCertificate): StoredCertificateVersion {
  const version = cert.versions.at(-1);
  if (!version) throw new VaultError(500, 'InternalError', 'A stored certificate has no versions.');
  return version;
}

const attributes = (v: StoredCertificateVersion) => ({ ...v.attributes, ...RECOVERY });

export function policyBody(base: string, cert: StoredCertificate) {
  return { id: `${base}/certificates/${cert.name}/policy`, ...cert.policy };
}

/** CertificateBundle: ids of the certificate, its key (`kid`) and its secret (`sid`). */
export function certificateBundle(base: string, cert: StoredCertificate, version = latestVersion(cert)) {
  const v = version.version;
  return {
    id: `${base}/certificates/${cert.name}/${v}`,
    kid: `${base}/keys/${cert.name}/${v}`,
    sid: `${base}/secrets/${cert.name}/${v}`,
    x5t: x5tOf(Buffer.from(version.cer, 'base64')),
    cer: version.cer,
    attributes: attributes(version),
    ...(version.tags !== undefined && { tags: version.tags }),
    policy: policyBody(base, cert),
    ...(cert.operation && { pending: { id: `${base}/certificates/${cert.name}/pending` } }),
  };
}

/** CertificateItem in `GET /certificates` (no version in the id) and `…/versions` (with one). */
export function certificateItem(base: string, cert: StoredCertificate, version?: StoredCertificateVersion) {
  const shown = version ?? latestVersion(cert);
  return {
    id: `${base}/certificates/${cert.name}${version ? `/${version.version}` : ''}`,
    x5t: x5tOf(Buffer.from(shown.cer, 'base64')),
    attributes: attributes(shown),
    ...(shown.tags !== undefined && { tags: shown.tags }),
  };
}

function deletion(base: string, cert: StoredCertificate) {
  return {
    recoveryId: `${base}/deletedcertificates/${cert.name}`,
    deletedDate: cert.deleted?.deletedDate,
    scheduledPurgeDate: cert.deleted?.scheduledPurgeDate,
  };
}

export const deletedCertificateBundle = (base: string, cert: StoredCertificate) => ({
  ...deletion(base, cert),
  ...certificateBundle(base, cert),
});

export const deletedCertificateItem = (base: string, cert: StoredCertificate) => ({
  ...deletion(base, cert),
  ...certificateItem(base, cert),
});

/** CertificateOperation (`…/pending`), in the recordings' shape. */
export function operationBody(base: string, cert: StoredCertificate, operation: StoredOperation) {
  const inProgress = operation.status === 'inProgress';
  return {
    id: `${base}/certificates/${cert.name}/pending`,
    issuer: { name: operation.issuer },
    csr: operation.csr,
    cancellation_requested: false,
    status: operation.status,
    ...(inProgress && {
      status_details:
        'Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.',
    }),
    ...(!inProgress && { target: `${base}/certificates/${cert.name}` }),
    request_id: operation.requestId,
  };
}
