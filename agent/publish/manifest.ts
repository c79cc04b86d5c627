/**
 * The publisher's ownership record: which share files it wrote, from which Key Vault certificate
 * version, with which thumbprint, encryption profile and private-key password version, and the
 * SHA-256 of the bytes it wrote (how "unchanged since written" is decided).
 *
 * Where it lives: a JSON file in the share itself, `.ccs-publisher.json`. The publisher is an
 * elected host that can die at any moment and be replaced by another; the share is the one place
 * every candidate reads, and the record then describes exactly the files beside it (a share
 * restored from backup brings its record with it). IIS's Central Certificate Store reads only
 * `*.pfx` files, so the record is invisible to IIS and to the inventory. It holds no secret: no
 * password, no key, no PFX bytes. It is replaced atomically (temporary file, then rename).
 *
 * Write-ahead: before a run renames new files into place it records each target's new hash as
 * `pending`; after the renames it promotes them. A publisher that dies between the two leaves a
 * file whose hash is either the recorded one or the pending one — both count as its own, so the
 * next run (on any host) finishes the job instead of refusing a file it wrote itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { PFX_PROFILES, type PfxProfileId } from '../../shared/pkcs12/profiles.js';
import { ShareError, type PublishShare } from './share.js';

export const MANIFEST_FILE = '.ccs-publisher.json';

const Written = z.object({
  /** Key Vault certificate name (the source). */
  source: z.string(),
  /** Key Vault certificate version. */
  version: z.string(),
  /** SHA-1 of the certificate, upper-case hex (as the certificates API shows it). */
  thumbprint: z.string(),
  profile: z.enum(Object.keys(PFX_PROFILES) as [PfxProfileId, ...PfxProfileId[]]),
  /** The Key Vault version of the private-key password the file is encrypted with. */
  passwordVersion: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  written: z.string(),
});

const Entry = Written.extend({ pending: Written.optional() });
const ManifestSchema = z.object({
  format: z.literal(1),
  files: z.record(z.string(), Entry),
  /**
   * The last publish run that changed the share (its number and `issuedAt`, both the API's): a run
   * older by both — a publisher that comes back after its run was handed over — is refused.
   */
  lastRun: z.object({ seq: z.number().int(), issuedAt: z.string() }).optional(),
});

export type WrittenFile = z.infer<typeof Written>;
export type ManifestEntry = z.infer<typeof Entry>;
export type Manifest = z.infer<typeof ManifestSchema>;

export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Whether `bytes` are what the publisher wrote under this entry (recorded or pending). */
export function isOwnContent(entry: ManifestEntry, bytes: Buffer): boolean {
  const hash = sha256Hex(bytes);
  return hash === entry.sha256 || hash === entry.pending?.sha256;
}

/** Manifest keys are case-insensitive file names, as Windows compares them. */
export const fileKey = (name: string): string => name.toLowerCase();

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

export interface LoadedManifest {
  manifest: Manifest;
  /** SHA-256 of the file as read ('' when there was none): a concurrent writer changes it. */
  readHash: string;
}

/** Reads the record; an empty one when the share has none. A corrupt record stops the publisher. */
export async function loadManifest(share: PublishShare): Promise<LoadedManifest> {
  let bytes: Buffer;
  try {
    bytes = await share.read(MANIFEST_FILE);
  } catch (error) {
    if (error instanceof ShareError && error.kind === 'not-found')
      return { manifest: { format: 1, files: {} }, readHash: '' };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ManifestError(
      `${MANIFEST_FILE} in the share is not JSON; move it aside to let the publisher start over`,
    );
  }
  const result = ManifestSchema.safeParse(parsed);
  if (!result.success) throw new ManifestError(`${MANIFEST_FILE} in the share is not a publisher record`);
  return { manifest: result.data, readHash: sha256Hex(bytes) };
}

/**
 * Replaces the record atomically. Refuses when the record changed since `previous` was read:
 * another publisher is running (the API's election should make that impossible; this is the
 * fence if it ever happens), and overwriting its record would lose what it wrote.
 */
export async function saveManifest(
  share: PublishShare,
  manifest: Manifest,
  previous: LoadedManifest,
  tempName: (purpose: string) => string,
): Promise<LoadedManifest> {
  const current = await loadManifest(share);
  if (current.readHash !== previous.readHash) {
    throw new ManifestError(
      `${MANIFEST_FILE} changed while this publisher ran: another publisher is writing the share`,
    );
  }
  const bytes = Buffer.from(JSON.stringify(manifest, null, 1), 'utf8');
  const temp = tempName('manifest');
  await share.create(temp, bytes);
  await share.replace(temp, MANIFEST_FILE);
  return { manifest, readHash: sha256Hex(bytes) };
}

/** A fresh random suffix for temporary names. */
export const randomSuffix = (): string => randomBytes(6).toString('hex');
