/**
 * The shapes the local Key Vault's route tables share (secrets in ./routes.ts, certificates in
 * ./certificate-routes.ts, keys in ./key-routes.ts), kept apart so those modules and ./paging.ts
 * need not import each other.
 */
import type { CertificateVault } from './certificate-vault.js';
import type { VaultKeys } from './key-vault.js';
import type { Vault } from './vault.js';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RequestContext {
  vault: Vault;
  certificates: CertificateVault;
  keys: VaultKeys;
  /** The vault URL ids are built from, without a trailing slash. */
  base: string;
  name: string;
  version: string;
  query: Map<string, string>;
  /** The parsed JSON body, `undefined` when the request had none. */
  body: unknown;
}

/** One method of one path: the operation it is (`Op`: the REST API's operation ids) and what it does. */
export interface Route<Op extends string = string> {
  operation: Op;
  /** Whether the operation reads a JSON body (others ignore theirs, as Azure does). */
  takesBody: boolean;
  run(ctx: RequestContext): Promise<Reply> | Reply;
}

export type RouteTable<Op extends string = string> = Record<string, Partial<Record<string, Route<Op>>>>;
