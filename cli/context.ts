/** What every `ccs` command gets: where to print, how to reach the API, its stdin for secrets. */
import type { Connection } from './connection.js';
import type { Output } from './output.js';
import type { SecretIo } from './secrets.js';

export interface CommandContext {
  output: Output;
  io: SecretIo;
  connect(): Promise<Connection>;
}
