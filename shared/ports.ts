/**
 * Ports: what the domain needs from the outside world. Services (shared/services/) depend on
 * these only; adapters in shared/adapters/ implement them with the Azure SDK clients (the same
 * code against Azure and the local emulators), and tests implement them in memory.
 *
 * One convention for conditional writes: they take the ETag the record was read at and return
 * the record's new ETag, or `null` when another writer changed (or created) it first — nothing
 * was written then. Losing such a race is an expected outcome, never an exception.
 */
import type { AgentCommand, CcsBinding, HostError, SecretRef } from './messages.js';
import type { BindingsHead, BindingsPart, ServingRecord } from './bindings/model.js';
import type { RolloutPolicy } from './rollout/policy.js';
import type {
  AuditEntry,
  CcsRecord,
  CertificateRow,
  EnrolmentCodeRecord,
  HostKeyRecord,
  HostRecord,
  HostStepStatus,
  InventoryLease,
  OperationHostRecord,
  OperationRecord,
  OperationStatus,
  RateWindow,
} from './model.js';
import type { PublishedFileRecord, PublishState, SourcesRecord } from './publishing/model.js';

export interface SecretStore {
  /** Store a new version of `name`; returns the reference to exactly that version. */
  setSecret(name: string, value: string): Promise<SecretRef>;
  /** Read exactly the referenced version. */
  getSecret(ref: SecretRef): Promise<string>;
  /** Soft-delete every version of `name`; idempotent (a missing secret is not an error). */
  deleteSecret(name: string): Promise<void>;
}

/** Delivers commands to one host's queue (created when the host enrols). */
export interface CommandBus {
  ensureHostQueue(ccsId: string, host: string): Promise<void>;
  send(command: AgentCommand): Promise<void>;
  /** Resolves once commands can be sent (e.g. the signing key is at hand); optional. */
  ready?(): Promise<void>;
}

/** Where a report that can never be folded (malformed) is set aside, unchanged. */
export interface PoisonQueue {
  add(messageText: string): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A record and the ETag it was read at: the token its conditional write needs. */
export interface Versioned<T> {
  record: T;
  etag: string;
}

/** The desired state of every ccs-id (one record each). */
export interface DesiredStateRepository {
  get(ccsId: string): Promise<Versioned<CcsRecord> | null>;
  /** Every ccs-id ever configured, enabled or not. */
  list(): Promise<CcsRecord[]>;
  /** Create (`etag` null) or replace conditionally; null when another writer won. */
  save(record: CcsRecord, etag: string | null): Promise<string | null>;
}

/** The enrolled hosts of each ccs-id, as their agents last reported. */
export interface HostRepository {
  get(ccsId: string, host: string): Promise<HostRecord | null>;
  list(ccsId: string): Promise<HostRecord[]>;
  /** Create or replace: a host row is written only from that host's own reports. */
  put(record: HostRecord): Promise<void>;
  /** One host's row with the ETag a conditional write needs, or null. */
  read(ccsId: string, host: string): Promise<Versioned<HostRecord> | null>;
  /**
   * Write rows of ONE ccs-id in one request (an entity-group transaction: at most
   * MAX_TRANSACTION_WRITES rows, each host once): create where `etag` is null, else replace only
   * at that ETag. All or nothing: the new ETags in order, or the index of the first write that
   * lost its race (nothing was written then).
   */
  writeAll(ccsId: string, writes: { record: HostRecord; etag: string | null }[]): Promise<TransactionOutcome>;
}

/**
 * Table storage's entity-group transaction: at most 100 entities, one partition key, each entity
 * once, all or nothing (learn.microsoft.com/azure/storage/tables/scalability-targets, "Size of an
 * entity group transaction"; REST "Performing entity group transactions").
 */
export const MAX_TRANSACTION_WRITES = 100;

/** A transaction's result: every write's new ETag, or the first write that lost (none was made). */
export type TransactionOutcome = { etags: string[] } | { lost: number };

/** One host's step results for `setHostSteps` (the steps it names; `error` only when given). */
export interface HostStepWrite {
  host: string;
  steps: Partial<Record<HostStep, HostStepStatus>>;
  error?: HostError | null;
  updatedAt: string;
}

/** The two steps a host takes for an operation. */
export type HostStep = 'preflight' | 'apply';

/** Operations, their per-host rows, and the index of the ones still running. */
export interface OperationRepository {
  /** Record a new operation and its host rows; returns its ETag. A running one joins the active index. */
  create(operation: OperationRecord, hosts: OperationHostRecord[]): Promise<string>;
  get(id: string): Promise<Versioned<OperationRecord> | null>;
  /** Replace conditionally; null when another writer won. An ended operation leaves the active index. */
  save(operation: OperationRecord, etag: string): Promise<string | null>;
  /** The ids of the running operations (what the sweeper advances). */
  activeIds(): Promise<string[]>;
  /** Every host row of an operation, in host order. */
  hosts(id: string): Promise<OperationHostRecord[]>;
  /** One host's row (a point read), or null. */
  host(id: string, host: string): Promise<OperationHostRecord | null>;
  /**
   * The first `max` host rows (in host order) whose `step` has `status`: "is any host still
   * pending?" costs one small query, not a read of every row.
   */
  hostsWhere(
    id: string,
    step: HostStep,
    status: HostStepStatus,
    max?: number,
  ): Promise<OperationHostRecord[]>;
  /** Create or replace one host row. */
  putHost(record: OperationHostRecord): Promise<void>;
  /** One host's row with its ETag (a point read), or null: for a read-then-write that must not race. */
  getHost(id: string, host: string): Promise<Versioned<OperationHostRecord> | null>;
  /** Replace one existing host row conditionally; null when another writer won (or the row is gone). */
  saveHost(record: OperationHostRecord, etag: string): Promise<string | null>;
  /** Every host row of an operation with its ETag (one query), in host order. */
  getHosts(id: string): Promise<Versioned<OperationHostRecord>[]>;
  /**
   * `saveHost` for several existing rows of ONE operation in one request (an entity-group
   * transaction: at most MAX_TRANSACTION_WRITES rows, each host once). All or nothing: the new
   * ETags in order, or the index of the first write that lost its race or found no row.
   */
  saveHosts(id: string, writes: Versioned<OperationHostRecord>[]): Promise<TransactionOutcome>;
  /**
   * Set one step's result on an existing host row without reading it first (the other step and,
   * when `error` is undefined, the error are kept). False when the row does not exist.
   */
  setHostStep(
    id: string,
    host: string,
    step: HostStep,
    status: HostStepStatus,
    error: HostError | null | undefined,
    updatedAt: string,
  ): Promise<boolean>;
  /**
   * `setHostStep` for several hosts of one operation in one request (an entity-group
   * transaction: at most MAX_TRANSACTION_WRITES hosts, each once). All or nothing: null when
   * every row was written, else the index of the first host without a row (nothing was written).
   */
  setHostSteps(id: string, writes: HostStepWrite[]): Promise<{ missing: number } | null>;
}

/** The audit log: one entry per accepted change, newest first. */
export interface AuditRepository {
  append(entry: AuditEntry): Promise<void>;
  /** Write the status its operation ended with on an entry (found by its operation and `at`). */
  setStatus(entry: Pick<AuditEntry, 'operationId' | 'at'>, status: OperationStatus): Promise<void>;
  /** The newest `top` entries, of one ccs-id when `ccsId` is given: one query. */
  list(query: { ccsId?: string; top: number }): Promise<AuditEntry[]>;
}

/** The certificate inventory of each ccs-id: the scanner lease, the files, full-scan receipts. */
export interface InventoryRepository {
  /** The lease (an empty one, etag null, before the first election). */
  getLease(ccsId: string): Promise<{ lease: InventoryLease; etag: string | null }>;
  /** Create (`etag` null) or replace conditionally; null when another writer won. */
  saveLease(lease: InventoryLease, etag: string | null): Promise<string | null>;
  listCertificates(ccsId: string): Promise<CertificateRow[]>;
  getCertificate(ccsId: string, id: string): Promise<CertificateRow | null>;
  /** Write `rows` unless a newer scan already wrote them; returns how many were written. */
  putCertificates(rows: CertificateRow[]): Promise<number>;
  /** Tombstone the named rows (scan `scanSeq` saw them gone), unless a newer scan wrote them. */
  removeCertificates(ccsId: string, ids: string[], scanSeq: number, at: string): Promise<void>;
  /**
   * After a full scan: every live row no scan since `scanSeq` wrote is a file that is gone
   * (tombstoned); tombstones older than `purgeBefore` are deleted for good.
   */
  sweepAfterFullScan(ccsId: string, scanSeq: number, at: string, purgeBefore: string): Promise<void>;
  /** Record that chunk `index` of full scan `scanSeq` was folded; returns how many of its chunks were. */
  recordChunk(ccsId: string, scanSeq: number, index: number): Promise<number>;
  /** Drop the receipts of full scans before `scanSeq`. */
  dropReceiptsBefore(ccsId: string, scanSeq: number): Promise<void>;
}

/**
 * Each host's CCS bindings (shared/services/bindings-folder.ts assembles them): a head per host
 * naming its newest complete list, and the parts lists are stored in. Apart from the host rows:
 * a list of thousands of bindings exceeds a table row, and chunks are folded concurrently with
 * the host's other reports.
 */
export interface BindingsRepository {
  /** A host's head and the ETag it was read at, or null before anything was stored. */
  head(ccsId: string, host: string): Promise<Versioned<BindingsHead> | null>;
  /** Every host's head of a ccs-id (one query). */
  heads(ccsId: string): Promise<BindingsHead[]>;
  /** Create (`etag` null) or replace conditionally; null when another writer won. */
  saveHead(head: BindingsHead, etag: string | null): Promise<string | null>;
  /** Store one part (create or replace: parts of one set and index hold the same bindings). */
  putPart(part: BindingsPart): Promise<void>;
  /** How many distinct parts of `set` are stored. */
  countParts(ccsId: string, host: string, set: string): Promise<number>;
  /** The bindings of `set`, parts 0…count-1 in order; null when one of them is missing. */
  readSet(ccsId: string, host: string, set: string, count: number): Promise<CcsBinding[] | null>;
  /** Delete the host's parts of every set but `keep` that were read at or before `before`. */
  dropParts(ccsId: string, host: string, keep: string | null, before: string): Promise<void>;
}

/** Serving checks: per host and generation (with the operation that asked), newest first. */
export interface ServingRepository {
  /** Store a check (replacing one of the same host and generation); keeps a bounded history per host. */
  put(record: ServingRecord): Promise<void>;
  /** The host's newest check at or below `generation` (any generation when omitted), or null. */
  latest(ccsId: string, host: string, generation?: number): Promise<ServingRecord | null>;
  /** Every host's newest check of a ccs-id (one query). */
  latestOfEach(ccsId: string): Promise<ServingRecord[]>;
  /** Every host's check of one generation (one query). */
  atGeneration(ccsId: string, generation: number): Promise<ServingRecord[]>;
}

/**
 * Enrolment (issue 17): each host's registered key (and a key waiting for approval) and the
 * one-time enrolment codes of each ccs-id, stored as hashes.
 */
export interface EnrolmentRepository {
  getHostKey(ccsId: string, host: string): Promise<Versioned<HostKeyRecord> | null>;
  /** Create (`etag` null) or replace conditionally; null when another writer won. */
  saveHostKey(record: HostKeyRecord, etag: string | null): Promise<string | null>;
  listHostKeys(ccsId: string): Promise<HostKeyRecord[]>;
  /** Record a new code (its id is unique). */
  addCode(record: EnrolmentCodeRecord): Promise<void>;
  /** The codes of a ccs-id that are unused and expire after `now`, with the ETags spending needs. */
  activeCodes(ccsId: string, now: string): Promise<Versioned<EnrolmentCodeRecord>[]>;
  /** Replace a code conditionally (spend it); null when another writer won. */
  saveCode(record: EnrolmentCodeRecord, etag: string): Promise<string | null>;
  /** Delete the codes of a ccs-id that expired before `before` (used or not). */
  pruneCodes(ccsId: string, before: string): Promise<void>;
}

/** Sliding-window counters shared by every API instance (shared/services/identity-policy.ts). */
export interface RateLimitRepository {
  get(scope: string, key: string): Promise<Versioned<RateWindow> | null>;
  /** Create (`etag` null) or replace conditionally; null when another writer won. */
  save(window: RateWindow, etag: string | null): Promise<string | null>;
}

/** Each ccs-id's rollout policy (issue 19, shared/rollout/policy.ts); none stored: the default. */
export interface RolloutPolicyRepository {
  get(ccsId: string): Promise<RolloutPolicy | null>;
  /** Create or replace (the last PUT wins: a policy is a setting, not a change of the fleet). */
  put(ccsId: string, policy: RolloutPolicy): Promise<void>;
}

/**
 * Publishing Key Vault certificates to each ccs-id's share: the sources, the publish state (Key
 * Vault as last seen, the runs) with its ETag, the files the publisher owns, and the receipts of a
 * run's report chunks.
 */
export interface PublishingRepository {
  getSources(ccsId: string): Promise<Versioned<SourcesRecord> | null>;
  /** Create (`etag` null) or replace conditionally; null when another writer won. */
  saveSources(record: SourcesRecord, etag: string | null): Promise<string | null>;
  /** The state (an empty one, etag null, before the first save). */
  getState(ccsId: string): Promise<{ state: PublishState; etag: string | null }>;
  /** Create (`etag` null) or replace conditionally; null when another writer won. */
  saveState(state: PublishState, etag: string | null): Promise<string | null>;
  /** The files the publisher owns, by file name. */
  listFiles(ccsId: string): Promise<PublishedFileRecord[]>;
  /** Write `rows` (file names compare case-insensitively) unless a newer run wrote them. */
  putFiles(rows: PublishedFileRecord[]): Promise<void>;
  /** After every chunk of run `seq` arrived: remove the files no run since `seq` listed. */
  sweepFiles(ccsId: string, seq: number): Promise<void>;
  /** Record that chunk `index` of run `seq` was folded; returns how many of its chunks were. */
  recordChunk(ccsId: string, seq: number, index: number): Promise<number>;
  /** Drop the receipts of runs before `seq`. */
  dropReceiptsBefore(ccsId: string, seq: number): Promise<void>;
}

/** Every store the API keeps, one port each (shared/adapters/table-stores.ts in Azure). */
export interface Stores {
  desired: DesiredStateRepository;
  hosts: HostRepository;
  operations: OperationRepository;
  audit: AuditRepository;
  inventory: InventoryRepository;
  bindings: BindingsRepository;
  serving: ServingRepository;
  enrolment: EnrolmentRepository;
  rateLimits: RateLimitRepository;
  rollouts: RolloutPolicyRepository;
  publishing: PublishingRepository;
}

/** A Key Vault certificate as a listing shows it (no version: the listing names none). */
export interface CatalogEntry {
  name: string;
  /** SHA-1 of its current version's certificate, upper-case hex; null when the listing has none. */
  thumbprint: string | null;
  tags: Record<string, string>;
  enabled: boolean;
}

/** The current version of a Key Vault certificate, with what the API checks before publishing it. */
export interface CatalogCertificate {
  name: string;
  version: string;
  thumbprint: string;
  /** The policy's secret content type: `application/x-pkcs12` or `application/x-pem-file`. */
  contentType: string | null;
  enabled: boolean;
  /** The certificate itself (DER), for its host names. */
  der: Buffer;
  tags: Record<string, string>;
}

/**
 * The Key Vault certificates the publisher's sources come from, read with
 * `@azure/keyvault-certificates` (shared/adapters/keyvault-certificate-catalog.ts): metadata only,
 * never the secret that holds the key. Throttling and outages are errors (the SDK has retried).
 */
export interface CertificateCatalog {
  /** Every certificate of the vault (its current version's thumbprint, tags, enabled). */
  list(): Promise<CatalogEntry[]>;
  /** The current version of one certificate; null when the vault has none of that name. */
  get(name: string): Promise<CatalogCertificate | null>;
}
