/**
 * Wraps a handler that answers without credentials (a route marked `anonymous`: the console's
 * files, the Entra sign-in settings). No authentication, but the same failure mapping as
 * `guarded`, so none of them can leak an exception or answer 5xx with an error's own text.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit } from '@azure/functions';
import { stderrLog } from '../app-context.js';
import { inInvocation, invocationLogger } from '../invocation-log.js';
import { failure } from './respond.js';

export function anonymous(handler: (request: HttpRequest) => Promise<HttpResponseInit>): HttpHandler {
  return (request, context) =>
    inInvocation(context, {}, async () => {
      try {
        return await handler(request);
      } catch (error) {
        return failure(error, invocationLogger(stderrLog));
      }
    });
}
