/**
 * The share publisher's core, a library with no queue or API wiring: given the share, the
 * sources (Key Vault certificate versions with their secrets' bytes), the store's private-key
 * password (value and Key Vault version) and the encryption profile, it makes the share hold one
 * file per host name of every source — IIS's names, encrypted for IIS — and nothing it should not
 * touch. See plan.ts for the rules, commit.ts for how the share changes, manifest.ts for the
 * ownership record and docs/certificates.md for all of it. Secret values stay in memory: the
 * result, errors and the record carry names, versions, thumbprints and hashes only.
 */
import { writePfx } from '../../shared/pkcs12/writer.js';
import type { PfxProfileId } from '../../shared/pkcs12/profiles.js';
import { asPublishError, commitChanges, PublishError, type FileWrite } from './commit.js';
import { fileKey, isOwnContent, loadManifest, type LoadedManifest } from './manifest.js';
import { filesToCheck, planPublish, resolveClaims, type NameConflict } from './plan.js';
import type { PublishShare, ShareEntry } from './share.js';
import { prepareSource, type PreparedSource, type PublishSource, type SourceError } from './source.js';
import { DEFAULT_TEMP_MAX_AGE_MS, orphansDueAt, removeOrphanTemps } from './temp-files.js';

export interface PublisherOptions {
  share: PublishShare;
  now?: () => Date;
  /** Temporary files older than this are a dead run's and are removed (default 10 minutes). */
  tempMaxAgeMs?: number;
  /** Told after each temporary file is written, before anything is renamed (fault tests' crash point). */
  afterTempWritten?: () => void;
}

/** The store's private-key password: its value (memory only) and its Key Vault version (recorded). */
export interface PasswordVersion {
  value: string;
  version: string;
}

export interface PublishRequest {
  sources: PublishSource[];
  /** Sources asked for that cannot be published now (secret unreadable, gone from Key Vault): their files are kept. */
  keep?: string[];
  privateKeyPassword: PasswordVersion;
  profile: PfxProfileId;
  /** The API's run (number, `issuedAt`): refused when a later run already changed the share. */
  run?: { seq: number; issuedAt: string };
}

export interface PublishedFile {
  file: string;
  host: string;
  source: string;
  version: string;
  thumbprint: string;
  profile: PfxProfileId;
}

export interface PublishResult {
  written: PublishedFile[];
  /** Files already holding their source's version in this encryption: not rewritten. */
  unchanged: string[];
  /** Files removed: their source is gone or no longer names them, and they were unchanged. */
  removed: string[];
  /** Files no source wants that changed since written: left in place, no longer recorded. */
  keptChanged: string[];
  errors: SourceError[];
  conflicts: NameConflict[];
  /** Certificate names that no share file can serve (IP addresses, partial wildcards…). */
  skippedNames: { source: string; name: string; reason: string }[];
  tempFilesRemoved: string[];
  /** When the temporary files of another run, too young to remove now, may go (null: none left). */
  orphansDueAt: Date | null;
}

/** Listing and record of the share, read once at the start of a run. */
export async function readShare(
  share: PublishShare,
): Promise<{ listing: ShareEntry[]; byKey: Map<string, ShareEntry>; loaded: LoadedManifest }> {
  try {
    const listing = await share.list();
    const loaded = await loadManifest(share);
    return { listing, byKey: new Map(listing.map((e) => [fileKey(e.name), e])), loaded };
  } catch (error) {
    throw asPublishError(error);
  }
}

/** Reads a share file, turning share failures into PublishErrors. */
export async function readShareFile(share: PublishShare, name: string): Promise<Buffer> {
  try {
    return await share.read(name);
  } catch (error) {
    throw asPublishError(error);
  }
}

/** Publishes `request.sources` to the share. Throws PublishError when the share fails the run. */
export async function publish(options: PublisherOptions, request: PublishRequest): Promise<PublishResult> {
  const { share } = options;
  const now = options.now?.() ?? new Date();
  const { listing, byKey, loaded } = await readShare(share);
  refuseStaleRun(request.run, loaded.manifest.lastRun);

  const prepared: PreparedSource[] = [];
  const errors: SourceError[] = [];
  for (const source of request.sources) {
    const outcome = prepareSource(source, now);
    if ('error' in outcome) errors.push(outcome.error);
    else prepared.push(outcome.prepared);
  }
  const claims = resolveClaims(prepared);
  errors.push(...claims.errors);

  const target = { profile: request.profile, passwordVersion: request.privateKeyPassword.version };
  const base = {
    accepted: claims.accepted,
    requested: new Set([...request.sources.map((s) => s.name), ...(request.keep ?? [])]),
    manifest: loaded.manifest,
    listing: byKey,
    target,
  };
  const own = new Map<string, boolean>();
  for (const key of filesToCheck(base)) {
    const entry = loaded.manifest.files[key];
    const onShare = byKey.get(key);
    if (!entry || !onShare) continue;
    own.set(key, isOwnContent(entry, await readShareFile(share, onShare.name)));
  }
  const plan = planPublish({ ...base, own });
  errors.push(...plan.errors);

  const writes: FileWrite[] = [];
  const written: PublishedFile[] = [];
  for (const { prepared: p, files } of plan.writes) {
    // One encryption per source: every name of a certificate gets the same (verified) bytes.
    const bytes = writePfx(
      {
        privateKey: p.privateKey,
        certificates: p.certificates.map((c) => c.raw),
        friendlyName: p.source.name,
      },
      request.privateKeyPassword.value,
      request.profile,
    );
    const record = { source: p.source.name, version: p.source.version, thumbprint: p.thumbprint, ...target };
    for (const name of files) {
      writes.push({ file: name.file, bytes, record });
      written.push({
        file: name.file,
        host: name.host,
        source: p.source.name,
        version: p.source.version,
        thumbprint: p.thumbprint,
        profile: request.profile,
      });
    }
  }
  const removals = plan.removals.map((key) => byKey.get(key)?.name ?? key);
  let temps = new Set<string>();
  if (writes.length > 0 || removals.length > 0 || plan.forget.length > 0) {
    ({ temps } = await commitChanges({
      share,
      loaded,
      writes,
      removals,
      forget: plan.forget,
      now,
      ...(request.run ? { run: request.run } : {}),
      afterTempWritten: options.afterTempWritten,
    }));
  }
  const maxAge = options.tempMaxAgeMs ?? DEFAULT_TEMP_MAX_AGE_MS;
  const tempFilesRemoved = await removeOrphanTemps(share, listing, now, maxAge, temps);
  return {
    written,
    unchanged: plan.unchanged,
    removed: removals,
    keptChanged: plan.keptChanged.map((key) => byKey.get(key)?.name ?? key),
    errors,
    conflicts: claims.conflicts,
    skippedNames: prepared.flatMap((p) =>
      p.skipped.map((s) => ({ source: p.source.name, name: s.name, reason: s.reason })),
    ),
    tempFilesRemoved,
    orphansDueAt: orphansDueAt(listing, maxAge, new Set([...temps, ...tempFilesRemoved])),
  };
}

/**
 * A run older than the one that last changed the share — a publisher that came back after its run
 * was handed over (docs/certificates.md, "Publishing") — writes nothing, so it can never put older
 * versions back. Older means by number and by the API's clock both: a lost API state (numbers
 * start again) or two API instances' clocks apart never refuse a newer run.
 */
function refuseStaleRun(run: PublishRequest['run'], last: PublishRequest['run']): void {
  if (!run || !last) return;
  if (run.seq < last.seq && Date.parse(run.issuedAt) < Date.parse(last.issuedAt)) {
    throw new PublishError(
      'stale_run',
      `Publish run ${run.seq} (issued ${run.issuedAt}) is older than run ${last.seq} (issued ${last.issuedAt}), which already changed the share: another host took over; nothing was written`,
    );
  }
}
