/**
 * Ports: what the domain needs from the outside world. Adapters in shared/adapters/ implement
 * them with the Azure SDK clients (the same code against Azure and the local emulators).
 */
import type { AgentCommand, SecretRef } from './messages.js';

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

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
