/**
 * The publisher's two steps of a private-key password rotation (docs/certificates.md, "Rotating
 * the private-key password"):
 *
 * - `stage`: a copy of the store in its staging subfolder, every file the publisher owns
 *   re-encrypted with the new password. The copy is made from the store's own bytes and its
 *   ownership record, then re-encrypted in the copy (reencrypt.ts), so the store itself is not
 *   touched while every host still reads it with the old password. A staging folder left by an
 *   earlier attempt is made again from scratch.
 * - `in-place`: the store's own files re-encrypted (reencrypt.ts), while the hosts serve the copy.
 *
 * Both refuse (foreign_files) when the store holds `.pfx` files the publisher did not write,
 * unless forced. Staging folders are removed by a later publish run once no host uses one.
 */
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PfxProfileId } from '../../shared/pkcs12/profiles.js';
import { asPublishError } from './commit.js';
import { MANIFEST_FILE } from './manifest.js';
import type { PasswordVersion } from './publisher.js';
import { reencryptAll, type ReencryptResult } from './reencrypt.js';
import { FolderShare, kindOf, ShareError } from './share.js';

export interface RotationStepRequest {
  step: 'stage' | 'in-place';
  /** The store's folder, expanded on this host. */
  store: string;
  /** The staging subfolder's name. */
  stage: string;
  from: PasswordVersion;
  to: PasswordVersion;
  profile: PfxProfileId;
  force: boolean;
  now?: () => Date;
  tempMaxAgeMs?: number;
}

const STAGE_FOLDER = /^\.ccs-rotation-[0-9a-z]{1,32}$/;

/** Runs one step; throws PublishError when the share refuses it (nothing half-written is served). */
export async function runRotationStep(request: RotationStepRequest): Promise<ReencryptResult> {
  const reencrypt = (folder: string) =>
    reencryptAll(
      { share: new FolderShare(folder), now: request.now, tempMaxAgeMs: request.tempMaxAgeMs },
      { from: request.from, to: request.to, profile: request.profile, force: request.force },
    );
  if (request.step === 'in-place') return reencrypt(request.store);
  const stage = join(request.store, request.stage);
  await copyStore(request.store, stage);
  try {
    return await reencrypt(stage);
  } catch (error) {
    // A refused or failed copy is no use to anyone: no host points at it yet.
    await rm(stage, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

/** The store's `.pfx` files and ownership record, byte for byte, into a fresh `stage` folder. */
async function copyStore(store: string, stage: string): Promise<void> {
  try {
    await rm(stage, { recursive: true, force: true });
    await mkdir(stage);
    const entries = await readdir(store, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      if (!/\.pfx$/i.test(entry.name) && entry.name !== MANIFEST_FILE) continue;
      await copyFile(join(store, entry.name), join(stage, entry.name));
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw asPublishError(new ShareError(kindOf(code), 'copy', stage, code));
  }
}

/** Staging folders of finished rotations: removed once every host serves the store itself again. */
export async function removeStageFolders(store: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: { name: string; isDirectory(): boolean }[];
  try {
    entries = await readdir(store, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || !STAGE_FOLDER.test(entry.name)) continue;
    try {
      await rm(join(store, entry.name), { recursive: true, force: true });
      removed.push(entry.name);
    } catch {
      // Left for the next run.
    }
  }
  return removed;
}
