/**
 * The records the API keeps: a ccs-id's desired state, its hosts, its operations, the audit log
 * and the certificate inventory. They hold Key Vault references only, never a secret value.
 */
import type { InventoryFile } from './certificates/metadata.js';
import type { ActualState, DesiredState, HostError, HostPublicKey, SecretRef } from './messages.js';
import type { PfxProfileId } from './pkcs12/profiles.js';
import type { RolloutProgress } from './rollout/model.js';

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
 * What an audit entry records: a change (an operation), an operator's request to a rollout
 * (docs/rollouts.md), or an enrolment action (issue 17).
 */
export type AuditKind =
  | OperationKind
  | 'enrolment-code'
  | 'host-approval'
  | 'rollout.resume'
  | 'rollout.rollback'
  | 'rollout.cancel';
/**
 * preflight → committing → apply → done. `committing` guards the single commit against races.
 * A change with a rollout policy goes through `waves` instead of `apply`, and may stop in
 * `halted` or go through `rollback` (docs/rollouts.md). A rotation adds the publisher's steps:
 * `staging` before the hosts move to the staging copy and `reencrypting` before they come back
 * (docs/operations.md).
 */
export type OperationPhase =
  | 'staging'
  | 'preflight'
  | 'committing'
  | 'apply'
  | 'waves'
  | 'halted'
  | 'rollback'
  | 'reencrypting'
  | 'done';

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
  /** A change with a rollout policy: its waves, gates and rollback (absent: all hosts at once). */
  rollout?: RolloutProgress | null;
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
  /** The host's wave in a rollout (absent: not part of one). */
  wave?: number | null;
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
  /** The caller: `access-token:<name>` or `entra:<oid>@<tid>`. */
  who: string;
  /** The caller's display name beside the stable id (Entra: the token's name claim), when known. */
  whoName?: string;
  ccsId: string;
  /** The operation of a change; for an enrolment action, the id of that action. */
  operationId: string;
  kind: AuditKind;
  changes: AuditChange[];
  /** The operation's status when it was last written here (Running until it ends). */
  status: OperationStatus;
  /** The change was forced (`?force=true`): made although sites would lose their certificates. */
  force?: boolean;
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

// ── enrolment (issue 17) ─────────────────────────────────────────────────────────────────────
/** What a pending host's hello said (no bindings): folded as its hello once it is approved. */
export interface PendingHello {
  agentVersion: string;
  backend: string;
  actual: ActualState;
  appliedGeneration: number;
  at: string;
}

/** A key a host presented that nobody has vouched for yet (no valid enrolment code). */
export interface PendingHostKey {
  key: HostPublicKey;
  /** RFC 7638 thumbprint: what `ccs-agent status` prints on the host, for the approver to compare. */
  thumbprint: string;
  firstSeen: string;
  lastSeen: string;
  hello: PendingHello;
}

/**
 * The trust the API places in one host (shared/services/enrolment-service.ts): its registered
 * public key — only reports that key signed are folded — and a key waiting for approval.
 */
export interface HostKeyRecord {
  ccsId: string;
  host: string;
  /** The registered key; null until the host is enrolled (a code or an approval). */
  key: HostPublicKey | null;
  thumbprint: string | null;
  enrolledAt: string | null;
  /** How the key was registered: `code:<code id>` or `approval:<caller>`. */
  enrolledBy: string | null;
  pending: PendingHostKey | null;
}

/** A one-time enrolment code. Only its hash is kept; the code was shown once, to its creator. */
export interface EnrolmentCodeRecord {
  ccsId: string;
  id: string;
  /** Hex SHA-256 of the code (shared/enrolment.ts). */
  hash: string;
  createdAt: string;
  expiresAt: string;
  createdBy: string;
  /** Set once, by the conditional write that spends the code. */
  usedAt: string | null;
  usedBy: string | null;
}

// ── rate limits (issue 17) ───────────────────────────────────────────────────────────────────
/** The recent events a rate limit counts (a sliding window), shared by every API instance. */
export interface RateWindow {
  /** What is limited, e.g. `identity-change`. */
  scope: string;
  /** Whose events, e.g. a ccs-id. */
  key: string;
  /** ISO times of the events still inside the window, oldest first. */
  events: string[];
}
