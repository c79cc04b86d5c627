/**
 * When a ccs-id's share is published, and by whom — a pure rule, like the inventory's `nextScan`
 * (shared/services/inventory-service.ts), tested without I/O.
 *
 * - The publisher is the host the API elected to scan the share (the inventory lease holder):
 *   one host per fleet writes, every host reads.
 * - A run is asked for when what it would do changed — the sources' versions, the store's path or
 *   private-key password version, the encryption profile the fleet can read — since the last run
 *   that reported (the `digest` of the run names all of it).
 * - A run that failed (the share refused it) is asked for again after an interval; a run left
 *   unanswered for two intervals is asked for again, of whoever holds the lease then — at once
 *   when the lease already moved to another host (its publisher died); a run that succeeded is
 *   repeated once a day, which heals a file someone deleted by hand, and once the temporary files
 *   a dead run left (too young to remove at the last run) are older than the orphan age.
 * - Nothing is published while a private-key password rotation runs: the rotation owns the share.
 */
import { createHash } from 'node:crypto';
import type { SecretRef } from '../message-parts.js';
import type { PfxProfileId } from '../pkcs12/profiles.js';
import { PUBLISH_SOURCES_PER_COMMAND, type PublishSourceRef } from './messages.js';
import type { PublishState, ResolvedSource } from './model.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What one run is asked to do. */
export interface RunRequest {
  path: string;
  privateKeyPassword: SecretRef | null;
  profile: PfxProfileId;
  sources: PublishSourceRef[];
  /** Sources Key Vault could not resolve: their files stay as they are. */
  keep: string[];
}

/** The resolved sources a run publishes (those Key Vault could not resolve keep their files). */
export function runSources(resolved: readonly ResolvedSource[]): PublishSourceRef[] {
  return resolved
    .filter((r) => r.problem === null)
    .map((r) => ({
      name: r.name,
      version: r.version,
      format: r.format,
      ...(r.overwrite ? { overwrite: true } : {}),
    }));
}

/** The sources Key Vault could not resolve (gone, disabled): a run keeps their files. */
export function keptSources(resolved: readonly ResolvedSource[]): string[] {
  return resolved.filter((r) => r.problem !== null).map((r) => r.name);
}

/** Names everything a run depends on: equal digests, equal runs. */
export function runDigest(run: RunRequest): string {
  const sources = [...run.sources].sort((a, b) => a.name.localeCompare(b.name));
  return createHash('sha256')
    .update(JSON.stringify([run.path.toLowerCase(), run.privateKeyPassword, run.profile, sources]))
    .digest('base64url');
}

export interface RunDecisionInput {
  state: PublishState;
  run: RunRequest;
  /** The elected host (the inventory lease holder); null while there is none. */
  holder: string | null;
  /** Whether a private-key password rotation of this ccs-id is running. */
  rotating: boolean;
  now: Date;
  intervalMs: number;
}

export type RunDecision = { host: string; seq: number; digest: string; reason: string } | null;

const ago = (now: Date, iso: string | null): number => (iso ? now.getTime() - Date.parse(iso) : Infinity);

export function nextRun(input: RunDecisionInput): RunDecision {
  const { state, holder, now, intervalMs } = input;
  if (input.rotating || holder === null) return null;
  const digest = runDigest(input.run);
  const issue = (reason: string): RunDecision => ({ host: holder, seq: state.seq + 1, digest, reason });
  if (state.seq > state.reportedSeq) {
    // Outstanding: the lease moved on (its host went silent, the inventory handed over): the new
    // holder runs it now. Otherwise wait for it, unless its host went silent for two intervals.
    if (state.host !== null && state.host.toLowerCase() !== holder.toLowerCase()) return issue('handover');
    return ago(now, state.requestedAt) >= 2 * intervalMs ? issue('unanswered') : null;
  }
  if (digest !== state.completedDigest) return issue('changed');
  // A failed run, or one that refused a source only because Key Vault did not give its secret
  // (throttled past the SDK's retries, down), is asked for again after an interval.
  const transient = state.sourceErrors.some((e) => e.code === 'secret_unavailable');
  if ((state.lastError !== null || transient) && ago(now, state.reportedAt) >= intervalMs)
    return issue('retry');
  // A dead run's temporary files were too young to go at the last run: a run removes them once due.
  // (At most once an interval: a file that cannot be removed must not make every tick a run.)
  if (
    state.orphansDueAt != null &&
    now.getTime() >= Date.parse(state.orphansDueAt) &&
    ago(now, state.reportedAt) >= intervalMs
  ) {
    return issue('orphans');
  }
  if (ago(now, state.reportedAt) >= DAY_MS) return issue('daily');
  return null;
}

/** The run's sources in command-sized chunks (at least one, empty when there are none). */
export function chunkSources(sources: readonly PublishSourceRef[]): PublishSourceRef[][] {
  const chunks: PublishSourceRef[][] = [];
  for (let i = 0; i < sources.length; i += PUBLISH_SOURCES_PER_COMMAND) {
    chunks.push(sources.slice(i, i + PUBLISH_SOURCES_PER_COMMAND));
  }
  return chunks.length > 0 ? chunks : [[]];
}
