/** Who is calling, once authenticated: what both authentication paths (keys, Entra ID) produce. */

/** `read` allows GET; `write` allows every method (write implies read). */
export type Role = 'read' | 'write';

export interface Principal {
  kind: 'access-token' | 'entra';
  /** The key's configured name, or the Entra user/app name (for logs and audit). */
  name: string;
  role: Role;
}
