/**
 * Re-encrypts every file the publisher wrote with a new private-key password (and profile): the
 * share half of a private-key password rotation. The order of the whole rotation (when hosts
 * switch password relative to the files) belongs to the operation that calls this.
 *
 * It refuses (PublishError `foreign_files`, listing them) when the share holds `.pfx` files the
 * publisher did not write or that changed since it wrote them — after a rotation IIS could no
 * longer open those — unless `force` (then those files are left as they are). It also refuses
 * (`unreadable_files`) when a file of its own opens with neither password. It can be run again
 * after an interruption: a file already under the new password version is left alone, one that
 * opens only with the new password (renamed in by a run that died before recording) is kept.
 */
import {
  CertificateBundleError,
  readCertificateBundle,
  type CertificateBundle,
} from '../../shared/pkcs12/bundle.js';
import type { PfxProfileId } from '../../shared/pkcs12/profiles.js';
import { writePfx } from '../../shared/pkcs12/writer.js';
import { PublishError, commitChanges, type FileWrite } from './commit.js';
import { fileKey, isOwnContent, type ManifestEntry } from './manifest.js';
import { readShare, readShareFile, type PasswordVersion, type PublisherOptions } from './publisher.js';
import { DEFAULT_TEMP_MAX_AGE_MS, removeOrphanTemps } from './temp-files.js';

export interface ReencryptRequest {
  from: PasswordVersion;
  to: PasswordVersion;
  profile: PfxProfileId;
  /** Go ahead although the share holds files the publisher did not write (they are left alone). */
  force?: boolean;
}

export interface ReencryptResult {
  reencrypted: string[];
  /** Already under the new password version and profile. */
  alreadyCurrent: string[];
  /** `.pfx` files the publisher did not write (only with `force`; otherwise it threw). */
  foreign: string[];
  tempFilesRemoved: string[];
}

function open(bytes: Buffer, password: string): CertificateBundle | null {
  try {
    return readCertificateBundle(bytes, 'pfx', password);
  } catch (error) {
    if (error instanceof CertificateBundleError && error.code === 'wrong-password') return null;
    throw error;
  }
}

export async function reencryptAll(
  options: PublisherOptions,
  request: ReencryptRequest,
): Promise<ReencryptResult> {
  const { share } = options;
  const now = options.now?.() ?? new Date();
  const { listing, byKey, loaded } = await readShare(share);

  const foreign: string[] = [];
  const owned: { name: string; entry: ManifestEntry; bytes: Buffer }[] = [];
  for (const item of listing.filter((e) => /\.pfx$/i.test(e.name))) {
    const entry = loaded.manifest.files[fileKey(item.name)];
    const bytes = entry ? await readShareFile(share, item.name) : undefined;
    if (!entry || !bytes || !isOwnContent(entry, bytes)) foreign.push(item.name);
    else owned.push({ name: item.name, entry, bytes });
  }
  if (foreign.length > 0 && !request.force) {
    throw new PublishError(
      'foreign_files',
      `The share holds files the publisher did not write: ${foreign.join(', ')}`,
      foreign,
    );
  }

  const forget = Object.keys(loaded.manifest.files).filter((key) => !byKey.has(key));
  const alreadyCurrent: string[] = [];
  const unreadable: string[] = [];
  const writes: FileWrite[] = [];
  const encrypted = new Map<string, Buffer>(); // by the old bytes' hash: one encryption per certificate
  for (const { name, entry, bytes } of owned) {
    const current = entry.passwordVersion === request.to.version && entry.profile === request.profile;
    if (current && open(bytes, request.to.value)) {
      alreadyCurrent.push(name);
      continue;
    }
    const bundle = open(bytes, request.from.value) ?? open(bytes, request.to.value);
    if (!bundle?.privateKey) {
      unreadable.push(name);
      continue;
    }
    const key = `${entry.sha256}:${entry.pending?.sha256 ?? ''}`;
    const fresh =
      encrypted.get(key) ??
      writePfx(
        {
          privateKey: bundle.privateKey,
          certificates: bundle.certificates.map((c) => c.raw),
          friendlyName: entry.source,
        },
        request.to.value,
        request.profile,
      );
    encrypted.set(key, fresh);
    const { source, version, thumbprint } = entry;
    writes.push({
      file: name,
      bytes: fresh,
      record: { source, version, thumbprint, profile: request.profile, passwordVersion: request.to.version },
    });
  }
  if (unreadable.length > 0) {
    throw new PublishError(
      'unreadable_files',
      `Files of the publisher open with neither password: ${unreadable.join(', ')}`,
      unreadable,
    );
  }
  let temps = new Set<string>();
  if (writes.length > 0 || forget.length > 0) {
    ({ temps } = await commitChanges({ share, loaded, writes, removals: [], forget, now }));
  }
  const tempFilesRemoved = await removeOrphanTemps(
    share,
    listing,
    now,
    options.tempMaxAgeMs ?? DEFAULT_TEMP_MAX_AGE_MS,
    temps,
  );
  return { reencrypted: writes.map((w) => w.file), alreadyCurrent, foreign, tempFilesRemoved };
}
