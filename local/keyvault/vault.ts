/**
 * The local Key Vault's state: secrets with their versions, soft delete, recover and purge,
 * with Azure's rules (names are case-insensitive; a soft-deleted name cannot be reused until it
 * is recovered or purged), and the certificates' records (their operations are in
 * ./certificate-vault.ts; each certificate version's PFX or PEM is the value of a *managed*
 * secret of the same name and version, which the secret routes serve read-only) and the keys'
 * records (./key-vault.ts). Optionally persisted to a JSON file (mode 0600: it holds secret
 * values and private keys) after every change, so a restart of the local stack loses nothing. No HTTP here.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { CertificateSchema, type StoredCertificate } from './certificate-schema.js';
import { AttributesSchema } from './attributes.js';
import { KeySchema, type StoredKey } from './key-schema.js';

/** A Key Vault-style failure; `message` never contains a secret value. */
export class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

const VersionSchema = z.object({
  version: z.string(),
  value: z.string(),
  contentType: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  attributes: AttributesSchema,
});
const SecretSchema = z.object({
  name: z.string(),
  versions: z.array(VersionSchema).min(1),
  /** The secret of a certificate: its lifetime is the certificate's (Key Vault `managed: true`). */
  managed: z.boolean().optional(),
  deleted: z.object({ deletedDate: z.number().int(), scheduledPurgeDate: z.number().int() }).optional(),
});
const DataFileSchema = z.object({
  format: z.literal(1),
  secrets: z.array(SecretSchema),
  certificates: z.array(CertificateSchema).optional(),
  keys: z.array(KeySchema).optional(),
});

export type StoredVersion = z.infer<typeof VersionSchema>;

/** The attributes of a version created now (`enabled` defaults to true, as in Key Vault). */
export function newAttributes(input: {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}): StoredVersion['attributes'] {
  const now = nowSeconds();
  return {
    enabled: input.enabled ?? true,
    ...(input.nbf !== undefined && { nbf: input.nbf }),
    ...(input.exp !== undefined && { exp: input.exp }),
    created: now,
    updated: now,
  };
}
export type StoredSecret = z.infer<typeof SecretSchema>;

export interface SetInput {
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}
export type UpdateInput = Omit<SetInput, 'value'>;

const RETENTION_DAYS = 90;
const NAME = /^[0-9a-zA-Z-]{1,127}$/;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Key Vault object names: 1-127 of 0-9, a-z, A-Z and `-` (400 BadParameter otherwise). */
export function validateName(name: string): void {
  if (!NAME.test(name)) {
    throw new VaultError(
      400,
      'BadParameter',
      'The request URI contains an invalid name: names are 1-127 characters of 0-9, a-z, A-Z and -.',
    );
  }
}

/**
 * A change through the secrets API to the secret of a certificate. Key Vault's answer, as seen
 * by clients (e.g. hashicorp/terraform-provider-azurerm#5659): 403 Forbidden, `Operation "set"
 * is not allowed as this object's lifetime is managed by Key Vault.`, inner code
 * SecretManagedByKeyVault.
 */
function refuseManaged(secret: StoredSecret, operation: string): void {
  if (!secret.managed) return;
  throw new VaultError(
    403,
    'Forbidden',
    `Operation "${operation}" is not allowed as this object's lifetime is managed by Key Vault.`,
    'SecretManagedByKeyVault',
  );
}

const notFound = (name: string, deleted = false): VaultError =>
  new VaultError(
    404,
    'SecretNotFound',
    deleted
      ? `Deleted Secret not found: ${name}`
      : `A secret with (name/id) ${name} was not found in this key vault.`,
  );

export class Vault {
  /** Keyed by lower-cased name: Key Vault names are case-insensitive. */
  private readonly secrets = new Map<string, StoredSecret>();
  /** Certificates by lower-cased name, kept and changed by ./certificate-vault.ts. */
  readonly certificates = new Map<string, StoredCertificate>();
  /** Keys by lower-cased name, kept and changed by ./key-vault.ts. */
  readonly keys = new Map<string, StoredKey>();
  private writes: Promise<void> = Promise.resolve();

  private constructor(private readonly dataFile: string | undefined) {}

  /** Loads `dataFile` when it exists; a corrupt file fails loudly rather than losing secrets. */
  static async open(dataFile?: string): Promise<Vault> {
    const vault = new Vault(dataFile);
    if (dataFile === undefined) return vault;
    let text: string;
    try {
      text = await readFile(dataFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return vault;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${dataFile} is not valid JSON`);
    }
    const result = DataFileSchema.safeParse(parsed);
    if (!result.success) {
      const where = result.error.issues[0]?.path.join('.') ?? '';
      throw new Error(`${dataFile} is not a local Key Vault data file (at ${where})`);
    }
    for (const secret of result.data.secrets) vault.secrets.set(secret.name.toLowerCase(), secret);
    for (const cert of result.data.certificates ?? []) vault.certificates.set(cert.name.toLowerCase(), cert);
    for (const key of result.data.keys ?? []) vault.keys.set(key.name.toLowerCase(), key);
    return vault;
  }

  async set(name: string, input: SetInput): Promise<{ secret: StoredSecret; version: StoredVersion }> {
    validateName(name);
    let secret = this.secrets.get(name.toLowerCase());
    if (secret) refuseManaged(secret, 'set');
    if (secret?.deleted) {
      throw new VaultError(
        409,
        'Conflict',
        `Secret ${secret.name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        'ObjectIsDeletedButRecoverable',
      );
    }
    const version: StoredVersion = {
      version: randomBytes(16).toString('hex'),
      value: input.value,
      ...(input.contentType !== undefined && { contentType: input.contentType }),
      ...(input.tags !== undefined && { tags: input.tags }),
      attributes: newAttributes(input),
    };
    if (secret) secret.versions.push(version);
    else {
      secret = { name, versions: [version] };
      this.secrets.set(name.toLowerCase(), secret);
    }
    await this.persist();
    return { secret, version };
  }

  /** Exactly `version`, or the latest enabled version when `version` is empty. */
  get(name: string, version: string): { secret: StoredSecret; version: StoredVersion } {
    const secret = this.active(name);
    const found = version
      ? secret.versions.find((v) => v.version === version.toLowerCase())
      : secret.versions.findLast((v) => v.attributes.enabled);
    if (!found && version) throw notFound(`${name}/${version}`);
    if (!found?.attributes.enabled) {
      throw new VaultError(
        403,
        'Forbidden',
        'Operation get is not allowed on a disabled secret.',
        'SecretDisabled',
      );
    }
    return { secret, version: found };
  }

  /** Updates attributes, tags or content type of one version (the latest when `version` is empty). */
  async update(
    name: string,
    version: string,
    patch: UpdateInput,
  ): Promise<{ secret: StoredSecret; version: StoredVersion }> {
    const secret = this.active(name);
    refuseManaged(secret, 'update');
    const found = version
      ? secret.versions.find((v) => v.version === version.toLowerCase())
      : secret.versions.at(-1);
    if (!found) throw notFound(`${name}/${version}`);
    if (patch.contentType !== undefined) found.contentType = patch.contentType;
    if (patch.tags !== undefined) found.tags = patch.tags;
    if (patch.enabled !== undefined) found.attributes.enabled = patch.enabled;
    if (patch.nbf !== undefined) found.attributes.nbf = patch.nbf;
    if (patch.exp !== undefined) found.attributes.exp = patch.exp;
    found.attributes.updated = nowSeconds();
    await this.persist();
    return { secret, version: found };
  }

  /** Active (not soft-deleted) secrets by name, for listing. */
  list(): StoredSecret[] {
    return this.sorted().filter((s) => !s.deleted);
  }

  versions(name: string): StoredSecret {
    return this.active(name);
  }

  async softDelete(name: string): Promise<StoredSecret> {
    const secret = this.active(name);
    refuseManaged(secret, 'delete');
    const deletedDate = nowSeconds();
    secret.deleted = { deletedDate, scheduledPurgeDate: deletedDate + RETENTION_DAYS * 24 * 3600 };
    await this.persist();
    return secret;
  }

  getDeleted(name: string): StoredSecret {
    validateName(name);
    const secret = this.secrets.get(name.toLowerCase());
    if (!secret?.deleted) throw notFound(name, true);
    return secret;
  }

  listDeleted(): StoredSecret[] {
    return this.sorted().filter((s) => s.deleted);
  }

  async purge(name: string): Promise<void> {
    const secret = this.getDeleted(name);
    refuseManaged(secret, 'purge');
    this.secrets.delete(secret.name.toLowerCase());
    await this.persist();
  }

  async recover(name: string): Promise<StoredSecret> {
    const secret = this.getDeleted(name);
    refuseManaged(secret, 'recover');
    delete secret.deleted;
    await this.persist();
    return secret;
  }

  /** The secret named `name` in any state (deleted included), or undefined. */
  secretNamed(name: string): StoredSecret | undefined {
    return this.secrets.get(name.toLowerCase());
  }

  /**
   * Adds `version` to the managed secret `name` (creating it): the value of a certificate
   * version. The caller (./certificate-vault.ts) has checked the name and its state.
   */
  addManagedVersion(name: string, version: StoredVersion): StoredSecret {
    const existing = this.secrets.get(name.toLowerCase());
    if (existing) {
      existing.managed = true;
      existing.versions.push(version);
      return existing;
    }
    const secret: StoredSecret = { name, versions: [version], managed: true };
    this.secrets.set(name.toLowerCase(), secret);
    return secret;
  }

  /** Forgets the managed secret `name` (a purged certificate's). */
  dropManaged(name: string): void {
    if (this.secrets.get(name.toLowerCase())?.managed) this.secrets.delete(name.toLowerCase());
  }

  /** Writes the current state (see persist); for changes made through {@link certificates} or {@link keys}. */
  commit(): Promise<void> {
    return this.persist();
  }

  /** Resolves once every change so far is on disk. */
  async flush(): Promise<void> {
    await this.writes;
  }

  private active(name: string): StoredSecret {
    validateName(name);
    const secret = this.secrets.get(name.toLowerCase());
    if (!secret || secret.deleted) throw notFound(name);
    return secret;
  }

  private sorted(): StoredSecret[] {
    return [...this.secrets.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Writes a snapshot taken now, after any earlier write (so the file never goes backwards),
   * to a temporary file renamed into place (so a crash never leaves half a file).
   */
  private persist(): Promise<void> {
    const file = this.dataFile;
    if (file === undefined) return Promise.resolve();
    const text = JSON.stringify({
      format: 1,
      secrets: [...this.secrets.values()],
      certificates: [...this.certificates.values()],
      keys: [...this.keys.values()],
    });
    const write = this.writes.then(async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, text, { mode: 0o600 });
      await chmod(temp, 0o600);
      await rename(temp, file);
    });
    // A failed write fails its own request but must not block later writes.
    this.writes = write.catch(() => undefined);
    return write;
  }
}
