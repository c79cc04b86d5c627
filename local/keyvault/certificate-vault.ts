/**
 * The local Key Vault's certificates: import (PFX or PEM, with or without a password), create
 * with the `Self` issuer, versions, policy, update, soft delete, recover and purge — with Key
 * Vault's rules as the REST reference and the SDK's recorded responses show them:
 *
 * - A certificate version's PFX or PEM is the value of a managed secret with the same name and
 *   version (`sid`), read through the secrets API; the secrets API cannot change it (vault.ts).
 * - The secret's format is the policy's `secret_props.contentType`. A PFX secret has no password
 *   and Key Vault's own protection: TripleDES-SHA1, 2,000 iterations (shared/pkcs12/profiles.ts).
 *   A PEM secret is the unencrypted PKCS#8 key, then the certificates.
 * - A key that is not exportable (`key_props.exportable: false`) is not part of the secret's
 *   value ("If the policy indicates that the key is non-exportable, then the private key isn't a
 *   part of the value when it's retrieved as a secret": Key Vault docs, About certificates).
 * - PEM import accepts the key in PKCS#8 only ("Key Vault will only accept a key in PKCS#8
 *   format": Import Certificate REST reference) and needs the key ("This certificate needs to
 *   contain the private key").
 * - A soft-deleted name cannot be reused until recovered or purged (409, as for secrets).
 *
 * Limits of this stand-in: only the `Self` issuer (the create completes at once; its operation
 * then reads `completed`); no key behind a certificate (`kid` names a key ./key-vault.ts does
 * not have); no merge, backup, restore, issuers or contacts.
 */
import { randomBytes, randomUUID, type X509Certificate } from 'node:crypto';
import {
  CertificateBundleError,
  readCertificateBundle,
  type CertificateBundle,
} from '../../shared/pkcs12/bundle.js';
import { writePfx } from '../../shared/pkcs12/writer.js';
import type {
  StoredCertificate,
  StoredCertificateVersion,
  StoredOperation,
  StoredPolicy,
} from './certificate-schema.js';
import {
  PEM,
  PKCS12,
  defaultPolicy,
  mergePolicy,
  type CreateInput,
  type ImportInput,
  type PolicyInput,
  type UpdateInput,
} from './certificate-wire.js';
import { issueSelfSigned } from './self-signed.js';
import { VaultError, nowSeconds, validateName, type Vault } from './vault.js';

const RETENTION_DAYS = 90;
const seconds = (date: string): number => Math.floor(Date.parse(date) / 1000);

/** The real service's 404 text (SDK recording `can_get_a_certificate_non_existing`). */
const notFound = (name: string): VaultError =>
  new VaultError(
    404,
    'CertificateNotFound',
    `A certificate with (name/id) ${name} was not found in this key vault. If you recently deleted this certificate you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );

const badImport = (message: string): VaultError => new VaultError(400, 'BadParameter', message);

function importError(error: unknown, contentType: string): VaultError {
  if (!(error instanceof CertificateBundleError)) throw error;
  if (error.code === 'wrong-password') {
    return badImport('The specified certificate content cannot be decrypted with the specified password.');
  }
  return contentType === PEM
    ? badImport(
        'The specified PEM X.509 certificate content can not be read. Please check if certificate is in valid PEM format.',
      )
    : badImport(
        'The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in valid PKCS#12 format.',
      );
}

/** The parts of the policy an imported certificate dictates (its key, names and lifetime). */
function policyOfCertificate(
  policy: StoredPolicy,
  bundle: CertificateBundle & { privateKey: NonNullable<CertificateBundle['privateKey']> },
): StoredPolicy {
  const [leaf] = bundle.certificates as [X509Certificate];
  const details = bundle.privateKey.asymmetricKeyDetails ?? {};
  const ec = bundle.privateKey.asymmetricKeyType === 'ec';
  const curves: Record<string, string> = {
    prime256v1: 'P-256',
    secp384r1: 'P-384',
    secp521r1: 'P-521',
    secp256k1: 'P-256K',
  };
  const dnsNames = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4));
  const months = Math.max(
    1,
    Math.round((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / (30.44 * 86400_000)),
  );
  return {
    ...policy,
    key_props: {
      exportable: policy.key_props.exportable,
      kty: ec ? 'EC' : 'RSA',
      ...(ec
        ? { crv: curves[details.namedCurve ?? ''] ?? details.namedCurve ?? '' }
        : { key_size: details.modulusLength ?? 0 }),
      reuse_key: policy.key_props.reuse_key,
    },
    x509_props: {
      ...policy.x509_props,
      subject: leaf.subject.split('\n').join(', '),
      sans: dnsNames.length ? { dns_names: dnsNames } : {},
      ekus: leaf.keyUsage ?? [],
      validity_months: months,
    },
  };
}

/** The managed secret's value: the PFX (no password) or the PEM, without the key unless exportable. */
function secretValue(bundle: CertificateBundle, contentType: string, exportable: boolean): string {
  const key = exportable ? bundle.privateKey : null;
  if (contentType === PEM) {
    const keyPem = key ? key.export({ format: 'pem', type: 'pkcs8' }).toString() : '';
    return keyPem + bundle.certificates.map((c) => c.toString()).join('');
  }
  const pfx = writePfx(
    { privateKey: key, certificates: bundle.certificates.map((c) => c.raw) },
    '',
    'tripledes-sha1',
  );
  return pfx.toString('base64');
}

export class CertificateVault {
  constructor(private readonly vault: Vault) {}

  private find(name: string): StoredCertificate | undefined {
    validateName(name);
    return this.vault.certificates.get(name.toLowerCase());
  }

  private active(name: string): StoredCertificate {
    const cert = this.find(name);
    if (!cert || cert.deleted) throw notFound(name);
    return cert;
  }

  /** The certificate a new version goes to (undefined: a new certificate), after Key Vault's name checks. */
  private writable(name: string): StoredCertificate | undefined {
    const cert = this.find(name);
    if (cert?.deleted) {
      throw new VaultError(
        409,
        'Conflict',
        `Certificate ${cert.name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged.`,
        'ObjectIsDeletedButRecoverable',
      );
    }
    const secret = this.vault.secretNamed(name);
    if (!cert && secret && !secret.managed) {
      throw new VaultError(
        409,
        'Conflict',
        `A secret named ${secret.name} already exists; a certificate cannot take its name.`,
      );
    }
    return cert;
  }

  /** Stores a new version (and its managed secret) and writes the vault. */
  private async addVersion(
    name: string,
    policy: StoredPolicy,
    bundle: CertificateBundle,
    input: { attributes?: { enabled?: boolean | null } | null; tags?: Record<string, string> | null },
    operation?: StoredOperation,
  ): Promise<StoredCertificate> {
    const [leaf] = bundle.certificates as [X509Certificate];
    const now = nowSeconds();
    const enabled = input.attributes?.enabled ?? true;
    const attributes = {
      enabled,
      nbf: seconds(leaf.validFrom),
      exp: seconds(leaf.validTo),
      created: now,
      updated: now,
    };
    const version: StoredCertificateVersion = {
      version: randomBytes(16).toString('hex'),
      cer: leaf.raw.toString('base64'),
      attributes,
      ...(input.tags != null && { tags: { ...input.tags } }),
    };
    const contentType = policy.secret_props.contentType;
    const value = secretValue(bundle, contentType, policy.key_props.exportable);
    // Checked again: an awaited create may have raced a delete of the same name.
    let cert = this.writable(name);
    if (cert) {
      cert.versions.push(version);
      cert.policy = policy;
      if (operation) cert.operation = operation;
    } else {
      cert = { name, versions: [version], policy, ...(operation && { operation }) };
      this.vault.certificates.set(name.toLowerCase(), cert);
    }
    this.vault.addManagedVersion(cert.name, {
      version: version.version,
      value,
      contentType,
      attributes: { ...attributes },
    });
    await this.vault.commit();
    return cert;
  }

  async importCertificate(name: string, input: ImportInput): Promise<StoredCertificate> {
    const existing = this.writable(name);
    const now = nowSeconds();
    // The value's format is read from the value itself: @azure/keyvault-certificates 4.10.3
    // sends PEM text as is and never sends the import's policy (its serializer reads
    // `certificatePolicy`, the options call it `policy`), so a PEM import arrives policy-less.
    const pem = /^\s*-----BEGIN /.test(input.value);
    const format = pem ? PEM : PKCS12;
    const base = existing?.policy ?? {
      ...defaultPolicy(now, 'Unknown'),
      secret_props: { contentType: format },
    };
    const merged = mergePolicy(base, input.policy, now);
    let bundle: CertificateBundle;
    try {
      if (pem) {
        if (/-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(input.value)) {
          throw badImport(
            'The private key in the PEM content is not in PKCS#8 format; Key Vault only accepts PKCS#8 keys.',
          );
        }
        bundle = readCertificateBundle(Buffer.from(input.value, 'utf8'), 'pem', input.pwd ?? undefined);
      } else {
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(input.value.replace(/\s+/g, '')))
          throw badImport('The certificate value is neither base64 PKCS#12 nor PEM.');
        bundle = readCertificateBundle(Buffer.from(input.value, 'base64'), 'pfx', input.pwd ?? '');
      }
    } catch (error) {
      if (error instanceof VaultError) throw error;
      throw importError(error, format);
    }
    const { privateKey } = bundle;
    if (!privateKey) {
      throw badImport(
        'Private key is not specified in the specified X.509 certificate content. Please specify private key in the X.509 certificate content.',
      );
    }
    return this.addVersion(name, policyOfCertificate(merged, { ...bundle, privateKey }), bundle, input);
  }

  /** Creates a version signed by its own key (issuer `Self`); the operation is complete on return. */
  async createCertificate(
    name: string,
    input: CreateInput,
  ): Promise<{ cert: StoredCertificate; operation: StoredOperation }> {
    const existing = this.writable(name);
    const now = nowSeconds();
    const policy = mergePolicy(existing?.policy ?? defaultPolicy(now, 'Self'), input.policy, now);
    if (!policy.x509_props.subject) throw badImport("Property 'policy.x509_props.subject' is required.");
    if (policy.issuer.name.toLowerCase() !== 'self') {
      throw badImport(
        `This local Key Vault issues only self-signed certificates: the issuer must be 'Self', not '${policy.issuer.name}'.`,
      );
    }
    const notBefore = new Date((now - 600) * 1000); // the recordings: nbf is 10 minutes before creation
    const notAfter = new Date(now * 1000);
    notAfter.setUTCMonth(notAfter.getUTCMonth() + policy.x509_props.validity_months);
    let issued: Awaited<ReturnType<typeof issueSelfSigned>>;
    try {
      issued = await issueSelfSigned({
        subject: policy.x509_props.subject,
        dnsNames: policy.x509_props.sans.dns_names ?? [],
        keyType: policy.key_props.kty.startsWith('EC') ? 'EC' : 'RSA',
        ...(policy.key_props.key_size !== undefined && { keySize: policy.key_props.key_size }),
        ...(policy.key_props.crv !== undefined && { curve: policy.key_props.crv }),
        notBefore,
        notAfter,
        ekus: policy.x509_props.ekus,
        keyUsage: policy.x509_props.key_usage,
      });
    } catch {
      throw badImport("The certificate policy's subject or names cannot be issued.");
    }
    const operation: StoredOperation = {
      requestId: randomUUID().replace(/-/g, ''),
      issuer: 'Self',
      csr: issued.csr.toString('base64'),
      status: 'completed',
    };
    const bundle = { privateKey: issued.privateKey, certificates: [issued.certificate] };
    const cert = await this.addVersion(name, policy, bundle, input, operation);
    return { cert, operation };
  }

  /** Exactly `version`, or the latest version when it is empty. */
  get(name: string, version: string): { cert: StoredCertificate; version: StoredCertificateVersion } {
    const cert = this.active(name);
    const found = version
      ? cert.versions.find((v) => v.version === version.toLowerCase())
      : cert.versions.at(-1);
    if (!found) throw notFound(`${name}/${version}`);
    return { cert, version: found };
  }

  list(): StoredCertificate[] {
    return this.sorted().filter((c) => !c.deleted);
  }

  versions(name: string): StoredCertificate {
    return this.active(name);
  }

  operation(name: string): { cert: StoredCertificate; operation: StoredOperation } {
    const cert = this.active(name);
    if (!cert.operation)
      throw new VaultError(404, 'PendingCertificateNotFound', `Pending certificate not found: ${name}`);
    return { cert, operation: cert.operation };
  }

  async updatePolicy(name: string, input: NonNullable<PolicyInput>): Promise<StoredCertificate> {
    const cert = this.active(name);
    cert.policy = mergePolicy(cert.policy, input, nowSeconds());
    await this.vault.commit();
    return cert;
  }

  /** Attributes (enabled), tags and policy of one version (the latest when `version` is empty). */
  async update(name: string, version: string, input: UpdateInput) {
    const found = this.get(name, version);
    const now = nowSeconds();
    if (input.attributes?.enabled != null) {
      found.version.attributes.enabled = input.attributes.enabled;
      // A disabled certificate version disables its secret too: the PFX can no longer be read.
      const secretVersion = this.vault
        .secretNamed(name)
        ?.versions.find((v) => v.version === found.version.version);
      if (secretVersion) secretVersion.attributes.enabled = input.attributes.enabled;
    }
    if (input.tags != null) found.version.tags = { ...input.tags };
    if (input.policy) found.cert.policy = mergePolicy(found.cert.policy, input.policy, now);
    found.version.attributes.updated = now;
    await this.vault.commit();
    return found;
  }

  async softDelete(name: string): Promise<StoredCertificate> {
    const cert = this.active(name);
    const deletedDate = nowSeconds();
    cert.deleted = { deletedDate, scheduledPurgeDate: deletedDate + RETENTION_DAYS * 24 * 3600 };
    const secret = this.vault.secretNamed(name);
    if (secret?.managed) secret.deleted = { ...cert.deleted };
    await this.vault.commit();
    return cert;
  }

  getDeleted(name: string): StoredCertificate {
    const cert = this.find(name);
    if (!cert?.deleted)
      throw new VaultError(404, 'CertificateNotFound', `Deleted Certificate not found: ${name}`);
    return cert;
  }

  listDeleted(): StoredCertificate[] {
    return this.sorted().filter((c) => c.deleted);
  }

  async purge(name: string): Promise<void> {
    const cert = this.getDeleted(name);
    this.vault.certificates.delete(cert.name.toLowerCase());
    this.vault.dropManaged(cert.name);
    await this.vault.commit();
  }

  async recover(name: string): Promise<StoredCertificate> {
    const cert = this.getDeleted(name);
    delete cert.deleted;
    const secret = this.vault.secretNamed(name);
    if (secret?.managed) delete secret.deleted;
    await this.vault.commit();
    return cert;
  }

  private sorted(): StoredCertificate[] {
    return [...this.vault.certificates.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
