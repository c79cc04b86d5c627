/**
 * Naming rules. A ccs-id ends up in table keys, queue names and Key Vault secret names, so it
 * is restricted to what all three accept: lowercase letters, digits and single inner hyphens.
 */
import { createHash } from 'node:crypto';
import { invalid } from './errors.js';

const CCS_ID = /^[a-z0-9](?:[a-z0-9]|-(?!-)){0,30}[a-z0-9]$|^[a-z0-9]$/;

export function isCcsId(value: string): boolean {
  return CCS_ID.test(value);
}

/** Throws a 400 naming `id` unless the value is a valid ccs-id. */
export function assertCcsId(value: string): string {
  if (!isCcsId(value)) {
    throw invalid('id', 'id must be 1-32 lowercase letters, digits or single inner hyphens');
  }
  return value;
}

/** Host names as Windows computer names / FQDNs: letters, digits, hyphens, dots, 1-253. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export function isHostName(value: string): boolean {
  return HOST_NAME.test(value) && !value.includes('..');
}

/** Host names compare case-insensitively (NetBIOS/DNS); we store them lowercased. */
export function normalizeHostName(value: string): string {
  return value.toLowerCase();
}

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}

/** The per-host command queue: readable prefix + ccs-id + a hash of the host (queue names are 3-63 chars). */
export function commandQueueName(ccsId: string, hostName: string): string {
  return `h-${ccsId}-${shortHash(normalizeHostName(hostName))}`;
}

export const REPORTS_QUEUE = 'ccs-reports';

export function poisonQueueName(queue: string): string {
  return `${queue}-poison`;
}

export type SecretKind = 'identity-password' | 'private-key-password';

/** One Key Vault secret name per ccs-id and kind; every rotation is a new version of it. */
export function secretName(ccsId: string, kind: SecretKind): string {
  return `ccs-${ccsId}-${kind}`;
}
