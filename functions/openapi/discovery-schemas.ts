/**
 * The discovery documents in the IIS Administration API's HAL shape (functions/http/discovery.ts):
 * `_links` maps a relation to `{ href }`, a server-rooted path that clients append to the
 * server's URL (the IIS Administration test suite's Utils.GetLink does exactly that).
 */
import { z } from 'zod';

const Link = z.object({ href: z.string() });

export const ApiRootSchema = z
  .object({
    host_name: z.string().describe('The host name the request was addressed to'),
    default_ccs_id: z.string().describe('CCS_DEFAULT_ID: the ccs-id that `central_certificates` names'),
    _links: z.object({
      self: Link,
      webserver: Link,
      certificates: Link,
      certificate_stores: Link,
      ccs_ids: Link.describe('Every ccs-id with CCS enabled'),
      operations: z
        .object({ href: z.string(), templated: z.literal(true) })
        .describe('A URI template (RFC 6570): replace `{id}` with an operation id'),
      audit: Link,
      openapi: Link,
    }),
  })
  .meta({ id: 'ApiRoot', description: 'The API root: where every resource is found by following links.' });

export const WebServerSchema = z
  .object({
    _links: z.object({
      self: Link,
      central_certificates: Link.describe("The default ccs-id's centralized-certificates resource"),
      certificates: Link,
    }),
  })
  .meta({
    id: 'WebServer',
    description: 'The web servers of the fleet, as IIS Administration clients find CCS.',
  });
