/** Who is calling, once authenticated: what both authentication paths (keys, Entra ID) produce. */

/** `read` allows GET; `write` allows every method (write implies read). */
export type Role = 'read' | 'write';

export interface Principal {
  kind: 'access-token' | 'entra';
  /**
   * Who it is, stably: the key's configured name, or for Entra `<oid>@<tid>` (object id and
   * tenant: a display name can be changed or reused, these cannot).
   */
  id: string;
  /** The key's configured name, or the Entra user/app display name (shown beside the id). */
  name: string;
  role: Role;
}
