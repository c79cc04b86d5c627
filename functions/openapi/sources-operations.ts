/** OpenAPI metadata of the publishing sources routes (functions/http/sources.ts). */
import { SourcesBodySchema } from '../../shared/publishing/sources-body.js';
import { ErrorBodySchema } from './response-schemas.js';
import { PublishingSourcesSchema } from './sources-schemas.js';

const error = (description: string) => ({ description, body: ErrorBodySchema });
const ETAG = { ETag: { schema: { type: 'string' } } };
const ANY = {
  '400': error('Invalid parameter; `name` is the field (e.g. `certificates.3.name`)'),
  '401': error('No or invalid credentials'),
  '403': error('Forbidden: a read-only caller that writes'),
  '404': error('CCS is not enabled for this id'),
  '503': error('Key Vault or a store is unavailable; retry after `Retry-After`'),
};

/** Spread into OPERATION_METADATA (operations.ts), which checks its shape. */
export const SOURCES_OPERATIONS = {
  getPublishingSources: {
    summary: 'Read the Key Vault certificates published to the share, and the last publish run',
    tag: 'centralized-certificates' as const,
    responses: {
      '200': { description: 'The sources, with an ETag', body: PublishingSourcesSchema, headers: ETAG },
      ...ANY,
    },
  },
  putPublishingSources: {
    summary: 'Set which Key Vault certificates are published to the share',
    description:
      'Key Vault certificate names and/or a tag selector, at most 1,000 sources together. Every named certificate must exist; two sources that would write the same share file are a 409 naming the files. The elected host publishes at once. `If-Match` takes the ETag of a GET.',
    tag: 'centralized-certificates' as const,
    requestBody: SourcesBodySchema.meta({ id: 'PublishingSourcesBody' }),
    responses: {
      '200': {
        description: 'Saved; a publish run is asked for',
        body: PublishingSourcesSchema,
        headers: ETAG,
      },
      '409': error('Two sources claim the same host names (`NameConflicts`), or a concurrent change'),
      '412': error('If-Match does not match the current ETag'),
      '413': error('The body is over 256 KiB'),
      '415': error('The body is not application/json'),
      ...ANY,
    },
  },
};
