/** What the ccs-id view read, and what its change dialog needs of it. */
import type { Schemas } from '../../../client/index.js';

export interface CcsState {
  /** The desired state; null when CCS is not enabled for the id. */
  resource: Schemas['CentralizedCertificates'] | null;
  /** The resource's ETag, sent back as If-Match by update and disable. */
  etag: string | null;
  hosts: Schemas['HostList'];
}
