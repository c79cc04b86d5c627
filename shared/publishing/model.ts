/**
 * What the API keeps about publishing Key Vault certificates to a ccs-id's share
 * (shared/services/publishing-service.ts): the sources an operator set, what they resolved to in
 * Key Vault, the publish runs and the files the publisher owns. Names, versions and thumbprints
 * only: never a secret, a key or PFX bytes.
 */
import type { HostError } from '../message-parts.js';
import type { PfxProfileId } from '../pkcs12/profiles.js';
import type { PublishCounts, PublishedFile, SourceErrorReport } from './messages.js';

/** At most this many sources per ccs-id (names and tag matches together). */
export const MAX_SOURCES = 1000;

/** A Key Vault certificate named as a source. */
export interface SourceSpec {
  name: string;
  /** Replace share files of its names that the publisher did not write. */
  overwrite: boolean;
}

/** Every Key Vault certificate carrying this tag is a source (`ccs=default`). */
export interface TagSelector {
  name: string;
  value: string;
  overwrite: boolean;
}

/** The sources of one ccs-id, as `PUT …/{ccs-id}/sources` set them. */
export interface SourcesRecord {
  ccsId: string;
  certificates: SourceSpec[];
  tagSelector: TagSelector | null;
  updatedAt: string;
  /** `access-token:<name>` or `entra:<name>`. */
  updatedBy: string;
}

/** Why a source could not be resolved in Key Vault. */
export interface ResolveProblem {
  /** `not_readable`: the ccs-id's agents may not read it (per-ccs-id access, source-access.ts). */
  code: 'not_found' | 'disabled' | 'not_readable';
  detail: string;
}

/** A source as Key Vault had it at the last look: its current version. */
export interface ResolvedSource {
  name: string;
  /** Empty when there is none (a problem). */
  version: string;
  /** SHA-1 of the current version's certificate, upper-case hex ('' when unknown). */
  thumbprint: string;
  format: 'pfx' | 'pem';
  overwrite: boolean;
  via: 'name' | 'tag';
  problem: ResolveProblem | null;
}

/** The publishing state of one ccs-id: the last look at Key Vault and the publish runs. */
export interface PublishState {
  ccsId: string;
  resolved: ResolvedSource[];
  resolvedAt: string | null;
  /** Why the last look at Key Vault failed (throttled, unavailable), until one succeeds. */
  catalogError: { code: string; detail: string } | null;
  /** Look at Key Vault at the next tick, whatever the interval (sources saved, a certificate event). */
  pollDue: boolean;
  /** The last run issued (0: none), to whom, when, and what it asked for (a digest). */
  seq: number;
  host: string | null;
  requestedAt: string | null;
  requestedDigest: string | null;
  profile: PfxProfileId | null;
  /** The last run that reported in full, when, and what it had asked for. */
  reportedSeq: number;
  reportedAt: string | null;
  completedDigest: string | null;
  /** The last run's failure (the share refused it), null when it completed. */
  lastError: HostError | null;
  /** The sources the last run refused, and what it did. */
  /** The run whose refused sources `sourceErrors` lists (they arrive with its report's chunks). */
  errorsSeq: number;
  sourceErrors: SourceErrorReport[];
  counts: PublishCounts | null;
  /** A private-key password rotation owns the share while it runs: nothing is published. */
  rotation: { operationId: string } | null;
  /**
   * When the temporary files of a dead run, still too young at the last run, may be removed
   * (the last run's report); a run is asked for then. Absent in states saved before it existed.
   */
  orphansDueAt?: string | null;
}

export function emptyPublishState(ccsId: string): PublishState {
  return {
    ccsId,
    resolved: [],
    resolvedAt: null,
    catalogError: null,
    pollDue: true,
    seq: 0,
    host: null,
    requestedAt: null,
    requestedDigest: null,
    profile: null,
    reportedSeq: 0,
    reportedAt: null,
    completedDigest: null,
    lastError: null,
    errorsSeq: 0,
    sourceErrors: [],
    counts: null,
    rotation: null,
    orphansDueAt: null,
  };
}

/** A file the publisher owns, as its last complete run reported it. */
export interface PublishedFileRecord extends PublishedFile {
  ccsId: string;
  /** The run that reported it. */
  seq: number;
  updatedAt: string;
}
