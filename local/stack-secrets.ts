/**
 * The local stack's generated credentials (API tokens, the local vault's bearer tokens, the
 * demo private-key password), created once and kept in `.local/` with mode 0600 so a restart
 * keeps working with the same values. Local development only.
 */
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { generateAccessToken } from '../shared/auth/access-tokens.js';

export interface StackSecrets {
  writeToken: string;
  readToken: string;
  apiVaultToken: string;
  agentVaultToken: string;
  /** The operator's vault token: creates and imports certificates (Key Vault Certificates Officer). */
  operatorVaultToken: string;
  privateKeyPassword: string;
}

export function loadOrCreateStackSecrets(file: string): StackSecrets {
  if (existsSync(file)) {
    const kept = JSON.parse(readFileSync(file, 'utf8')) as Partial<StackSecrets>;
    if (kept.operatorVaultToken) return kept as StackSecrets;
    // Made by an older stack: the operator's token is new.
    return save(file, { ...(kept as StackSecrets), operatorVaultToken: generateAccessToken() });
  }
  return save(file, {
    writeToken: generateAccessToken(),
    readToken: generateAccessToken(),
    apiVaultToken: generateAccessToken(),
    agentVaultToken: generateAccessToken(),
    operatorVaultToken: generateAccessToken(),
    privateKeyPassword: `Demo-${randomBytes(9).toString('base64url')}`,
  });
}

function save(file: string, secrets: StackSecrets): StackSecrets {
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}
