/**
 * The records the API keeps: a ccs-id's desired state, its hosts, its operations, the audit log
 * and the certificate inventory. They hold Key Vault references only, never a secret value.
 */
import type { InventoryFile } from './certificates/metadata.js';
import type { ActualState, DesiredState, HostError, SecretRef } from './messages.js';
import type { PfxProfileId } from './pkcs12/profiles.js';

/** The desired state of one ccs-id and the generation every accepted change increments. */
export interface CcsRecord {
  ccsId: string;
  desired: DesiredState;
  generation: number;
  updatedAt: string;
  lastOperationId: string | null;
}

/** An enrolled host, as its agent last reported. */
export interface HostRecord {
  ccsId: string;
  host: string;
  agentVersion: string;
  backend: string;
  actual: ActualState | null;
  appliedGeneration: number;
  lastSeen: string;
  lastError: HostError | null;
  /** Set when a drift report arrives; cleared by the next successful apply. */
  lastDriftAt: string | null;
}

export type OperationStatus = 'NotStarted' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled';
/** `rotate`: a private-key password change of a share the publisher writes (docs/certificates.md). */
export type OperationKind = 'enable' | 'update' | 'disable' | 'rotate';
/**
 * preflight → committing → apply → done. `committing` guards the single commit against races. A
 * rotation adds the publisher's steps: `staging` before the hosts move to the staging copy and
 * `reencrypting` before they come back (docs/operations.md).
 */
export type OperationPhase = 'staging' | 'preflight' | 'committing' | 'apply' | 'reencrypting' | 'done';

/** A publisher step of a rotation: who was asked, and its result once reported. */
export interface RotationStep {
  kind: 'stage' | 'in-place';
  host: string;
  requestedAt: string;
  outcome: 'pending' | 'succeeded' | 'failed';
  error: HostError | null;
}

/**
 * How a private-key password rotation moves the fleet without a failed handshake: the publisher
 * writes every file re-encrypted into a staging folder, the hosts move to it with the new password,
 * the publisher re-encrypts the store's own files, the hosts move back (docs/certificates.md).
 */
export interface RotationPlan {
  /** The store's path: where the published files live and where the hosts come back to. */
  path: string;
  /** The staging folder's name, a subfolder of `path`. */
  stage: string;
  from: SecretRef | null;
  to: SecretRef | null;
  profile: PfxProfileId;
  /** 1: the hosts move to the staging copy; 2: they come back to the store. */
  round: 1 | 2;
  step: RotationStep;
}

export interface OperationError {
  code: string;
  message: string;
  /** The API field at fault (e.g. `identity`), when there is one. */
  target: string | null;
  status: number;
}

export interface OperationRecord {
  id: string;
  ccsId: string;
  kind: OperationKind;
  status: OperationStatus;
  phase: OperationPhase;
  /** The generation the change was computed from; the commit requires it to still be current. */
  baseGeneration: number;
  targetGeneration: number;
  proposed: DesiredState;
  changedFields: string[];
  requestedBy: string;
  createdAt: string;
  updatedAt: string;
  /** When phase one gives up on silent hosts (they are marked unreachable). */
  preflightDeadline: string;
  /** When phase two gives up waiting for reports. */
  deadline: string;
  error: OperationError | null;
  /** `?force=true`: the preflight skips the bound-names check (and a rotation the foreign-files one). */
  force?: boolean;
  /** Set on a `rotate` operation. */
  rotation?: RotationPlan;
}

export type HostStepStatus = 'pending' | 'succeeded' | 'failed' | 'superseded' | 'unreachable' | 'skipped';

export interface OperationHostRecord {
  operationId: string;
  host: string;
  preflight: HostStepStatus;
  apply: HostStepStatus;
  error: HostError | null;
  updatedAt: string;
}

export const TERMINAL: readonly OperationStatus[] = ['Succeeded', 'Failed', 'Canceled'];

export function isTerminal(status: OperationStatus): boolean {
  return TERMINAL.includes(status);
}

// ── audit ────────────────────────────────────────────────────────────────────────────────────
export type AuditValue = string | boolean | null;

/** One changed field of a desired state; a secret field shows `{HIDDEN}`, never a value. */
export interface AuditChange {
  field: string;
  from: AuditValue;
  to: AuditValue;
}

/**
 * One accepted change. Written before its operation starts; `status` follows the operation
 * (written again when it ends), everything else never changes.
 */
export interface AuditEntry {
  id: string;
  /** When the change was accepted: the operation's `createdAt`. */
  at: string;
  /** The caller: `access-token:<name>` or `entra:<name>`. */
  who: string;
  ccsId: string;
  operationId: string;
  kind: OperationKind;
  changes: AuditChange[];
  /** The operation's status when it was last written here (Running until it ends). */
  status: OperationStatus;
}

// ── inventory ────────────────────────────────────────────────────────────────────────────────
/** The scanner election of one ccs-id (shared/services/inventory-service.ts). */
export interface InventoryLease {
  ccsId: string;
  /** The elected scanner, or null until one is elected. */
  holder: string | null;
  /** The first scan issued to the current holder: older scans of it are fenced out. */
  holderSince: number;
  /** The last scan issued (0: none yet). */
  scanSeq: number;
  /** Whether `scanSeq` is a full scan. */
  full: boolean;
  /** The desired-state generation `scanSeq` was issued for. */
  generation: number;
  requestedAt: string | null;
  /** The last scan that reported (a scan is outstanding while `reportedSeq < scanSeq`). */
  reportedSeq: number;
  lastReportAt: string | null;
  /** The last full scan whose every chunk arrived, the generation it scanned, and when. */
  completedFullSeq: number;
  completedFullGeneration: number;
  lastFullAt: string | null;
  /** The file count of the last report. */
  files: number | null;
  lastError: HostError | null;
  /** Hosts passed over at the next election (they went silent or failed to scan). */
  excluded: string[];
}

export function emptyLease(ccsId: string): InventoryLease {
  return {
    ccsId,
    holder: null,
    holderSince: 0,
    scanSeq: 0,
    full: false,
    generation: 0,
    requestedAt: null,
    reportedSeq: 0,
    lastReportAt: null,
    completedFullSeq: 0,
    completedFullGeneration: 0,
    lastFullAt: null,
    files: null,
    lastError: null,
    excluded: [],
  };
}

/** One file of a share, as the inventory knows it. Metadata only: never key material. */
export interface CertificateRow {
  ccsId: string;
  /** certificateIdOf(ccsId, file name). */
  id: string;
  /** The CCS path (as the API stores it) the file was scanned under. */
  path: string;
  scanSeq: number;
  deleted: boolean;
  file: InventoryFile;
  /** The file's previous name when the scanner saw it renamed. */
  renamedFrom: string | null;
  /** When the file was first inventoried under this id. */
  firstSeen: string;
  updatedAt: string;
}
