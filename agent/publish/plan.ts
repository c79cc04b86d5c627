/**
 * What a publish run does, decided without I/O from: the prepared sources, the ownership record,
 * the share listing and — for files already on the share that the run may replace or remove —
 * whether their bytes are still what the publisher wrote.
 *
 * Rules (docs/certificates.md, "Publishing to the share"):
 * - Two sources that claim the same file are both refused (`name_conflict`); nothing is written
 *   for either. The same source listed twice is refused after its first listing.
 * - A file on the share that the publisher did not write — or that changed since it wrote it —
 *   is never replaced unless the source says `overwrite: true`; otherwise the whole source is
 *   refused (`file_not_owned`, naming the files): a source is published whole or not at all.
 * - A file whose record matches the source version, thumbprint, profile and password version, and
 *   whose size is the recorded one, is left alone (no rewrite every run).
 * - A recorded file no source wants any more (its source was removed, or its new version no
 *   longer names it) is removed only while it is unchanged since written; a changed one is left
 *   in place and forgotten. Files of a refused source are neither written nor removed.
 */
import type { PfxProfileId } from '../../shared/pkcs12/profiles.js';
import { fileKey, type Manifest, type ManifestEntry } from './manifest.js';

export { nameConflicts, type NameConflict };
import type { PlannedName } from '../../shared/publishing/file-names.js';
import { nameConflicts, type NameConflict } from '../../shared/publishing/conflicts.js';
import type { ShareEntry } from './share.js';
import type { PreparedSource, SourceError } from './source.js';

/** Sources that may go ahead, and the ones refused for duplicates or shared names. */
export function resolveClaims(prepared: readonly PreparedSource[]): {
  accepted: PreparedSource[];
  errors: SourceError[];
  conflicts: NameConflict[];
} {
  const errors: SourceError[] = [];
  const seen = new Set<string>();
  const unique: PreparedSource[] = [];
  for (const p of prepared) {
    const key = p.source.name.toLowerCase();
    if (seen.has(key)) {
      errors.push({
        source: p.source.name,
        version: p.source.version,
        code: 'duplicate_source',
        detail: 'The source is listed more than once',
      });
    } else {
      seen.add(key);
      unique.push(p);
    }
  }
  const conflicts = nameConflicts(
    unique.map((p) => ({ source: p.source.name, files: p.names.map((n) => n.file) })),
  );
  const conflicted = new Set(conflicts.flatMap((c) => c.sources));
  for (const p of unique.filter((u) => conflicted.has(u.source.name))) {
    const files = conflicts.filter((c) => c.sources.includes(p.source.name)).map((c) => c.file);
    errors.push({
      source: p.source.name,
      version: p.source.version,
      code: 'name_conflict',
      detail: `Another source claims the same share files: ${files.join(', ')}`,
      files,
    });
  }
  return { accepted: unique.filter((u) => !conflicted.has(u.source.name)), errors, conflicts };
}

/** What the record says the file should hold for this source, right now. */
export interface Target {
  profile: PfxProfileId;
  passwordVersion: string;
}

/** Whether the recorded file already is this source version, in this encryption, untouched (by size). */
export function isCurrent(
  entry: ManifestEntry | undefined,
  p: PreparedSource,
  target: Target,
  onShare: ShareEntry | undefined,
): boolean {
  return (
    entry !== undefined &&
    onShare !== undefined &&
    entry.pending === undefined &&
    entry.source === p.source.name &&
    entry.version === p.source.version &&
    entry.thumbprint === p.thumbprint &&
    entry.profile === target.profile &&
    entry.passwordVersion === target.passwordVersion &&
    entry.size === onShare.size
  );
}

export interface PlanInput {
  accepted: readonly PreparedSource[];
  /** Every source name asked for, refused ones included (their files are kept). */
  requested: ReadonlySet<string>;
  manifest: Manifest;
  /** The share listing by {@link fileKey}. */
  listing: ReadonlyMap<string, ShareEntry>;
  /** For files on the share the run may replace or remove: true when still the publisher's own bytes. */
  own: ReadonlyMap<string, boolean>;
  target: Target;
}

export interface Plan {
  writes: { prepared: PreparedSource; files: PlannedName[] }[];
  unchanged: string[];
  /** Recorded, unchanged files no source wants: removed. */
  removals: string[];
  /** Recorded files that changed since written and that no source wants: left alone, forgotten. */
  keptChanged: string[];
  /** Record entries to drop: removed, changed, or gone from the share. */
  forget: string[];
  errors: SourceError[];
}

export function planPublish(input: PlanInput): Plan {
  const plan: Plan = { writes: [], unchanged: [], removals: [], keptChanged: [], forget: [], errors: [] };
  const wanted = new Set<string>();
  for (const p of input.accepted) {
    const files: PlannedName[] = [];
    const foreign: string[] = [];
    for (const name of p.names) {
      const key = fileKey(name.file);
      wanted.add(key);
      const entry = input.manifest.files[key];
      const onShare = input.listing.get(key);
      if (isCurrent(entry, p, input.target, onShare)) plan.unchanged.push(name.file);
      else if (onShare && entry === undefined && !p.source.overwrite) foreign.push(name.file);
      else if (onShare && input.own.get(key) === false && !p.source.overwrite) foreign.push(name.file);
      else files.push(name);
    }
    if (foreign.length > 0) {
      plan.unchanged = plan.unchanged.filter((f) => !p.names.some((n) => n.file === f));
      plan.errors.push({
        source: p.source.name,
        version: p.source.version,
        code: 'file_not_owned',
        detail: `The share holds files the publisher did not write (or that changed since): ${foreign.join(', ')}; set overwrite to replace them`,
        files: foreign,
      });
    } else if (files.length > 0) plan.writes.push({ prepared: p, files });
  }
  const requested = new Set([...input.requested].map((s) => s.toLowerCase()));
  const accepted = new Set(input.accepted.map((p) => p.source.name.toLowerCase()));
  for (const [key, entry] of Object.entries(input.manifest.files)) {
    if (wanted.has(key)) continue;
    const source = entry.source.toLowerCase();
    // A refused source keeps its files: nothing is lost while its new version is rejected.
    if (requested.has(source) && !accepted.has(source)) continue;
    if (!input.listing.has(key)) plan.forget.push(key);
    else if (input.own.get(key) === true) plan.removals.push(key);
    else {
      plan.keptChanged.push(key);
      plan.forget.push(key);
    }
  }
  return plan;
}

/** Files on the share the plan might replace or remove: the ones whose bytes must be checked. */
export function filesToCheck(input: Omit<PlanInput, 'own'>): string[] {
  const check = new Set<string>();
  const wanted = new Set<string>();
  for (const p of input.accepted) {
    for (const name of p.names) {
      const key = fileKey(name.file);
      wanted.add(key);
      const entry = input.manifest.files[key];
      if (entry && input.listing.has(key) && !isCurrent(entry, p, input.target, input.listing.get(key)))
        check.add(key);
    }
  }
  for (const key of Object.keys(input.manifest.files))
    if (!wanted.has(key) && input.listing.has(key)) check.add(key);
  return [...check];
}
