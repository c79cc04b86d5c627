/** The typed client's types: the generated document types (schema.ts) and the client over them. */
import type { Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths } from './schema.js';
export type CcsClient = Client<paths>;
/** The API's named schemas: `Schemas['Operation']`, `Schemas['HostList']`… */
export type Schemas = components['schemas'];
