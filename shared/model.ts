/**
 * The records the API keeps: a ccs-id's desired state, its hosts and its operations. They hold
 * Key Vault references only, never a secret value.
 */
import type { ActualState, DesiredState, HostError } from './messages.js';

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
export type OperationKind = 'enable' | 'update' | 'disable';
/** preflight → committing → apply → done. `committing` guards the single commit against races. */
export type OperationPhase = 'preflight' | 'committing' | 'apply' | 'done';

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
