/**
 * What the API keeps of each host's CCS bindings and serving checks (issue 13). Bindings are
 * metadata of IIS's configuration (site, host name, port, address); serving checks are what the
 * agent's TLS handshakes found. Neither holds a secret.
 */
import type { CcsBinding, HostError, ServingCheck } from '../messages.js';

/**
 * The newest complete binding list of one host, by reference: its bindings are stored as parts
 * (`set` names them) because a list of thousands does not fit one table row.
 */
export interface BindingsHead {
  ccsId: string;
  host: string;
  /** The list's digest (shared/bindings/digest.ts); null until a list is known. */
  digest: string | null;
  /** How many bindings the host has (the list holds at most MAX_REPORTED_BINDINGS of them). */
  total: number;
  /** Which stored parts hold the list; null until a list is known. */
  set: string | null;
  /** When the agent read the list (the report's `at`): a list older than the stored one is ignored. */
  at: string | null;
  /** Why the host's latest read failed (the list above is the last one known); null after a good read. */
  error: HostError | null;
  errorAt: string | null;
}

export function emptyBindingsHead(ccsId: string, host: string): BindingsHead {
  return { ccsId, host, digest: null, total: 0, set: null, at: null, error: null, errorAt: null };
}

/** One stored slice of a binding list (a `bindings` report's chunk, or a slice of an inline list). */
export interface BindingsPart {
  ccsId: string;
  host: string;
  set: string;
  index: number;
  /** When the list was read (every part of one list carries the same). */
  at: string;
  bindings: CcsBinding[];
}

/** A host's bindings as the API reads them back: the head and its list (empty when none is known). */
export interface HostBindings {
  head: BindingsHead;
  bindings: CcsBinding[];
}

/**
 * The serving check of one host after the apply of one generation, as its result report carried
 * it: `operationId` is the operation whose apply command it answered (null: a catch-up apply).
 */
export interface ServingRecord extends ServingCheck {
  ccsId: string;
  host: string;
  generation: number;
  operationId: string | null;
}

/** Serving checks kept per host: enough for "what did it serve before the last few changes". */
export const SERVING_HISTORY = 20;
