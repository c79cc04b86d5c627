/**
 * Wraps a handler: authenticate, check the role, run, and map any failure to a response.
 * Every HTTP endpoint goes through this, so none can answer without authentication and none
 * can leak an exception.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { authorize } from '../../shared/auth/authenticate.js';
import type { Principal, Role } from '../../shared/auth/principal.js';
import type { LogFields } from '../../shared/log.js';
import type { Caller } from '../../shared/services/ccs-service.js';
import { getAppContext, stderrLog, type AppContext } from '../app-context.js';
import { inInvocation, invocationLogger } from '../invocation-log.js';
import { failure } from './respond.js';

export interface Call {
  request: HttpRequest;
  context: InvocationContext;
  app: AppContext;
  principal: Principal;
  /** `access-token:<name>` / `entra:<oid>@<tid>`: who asked, for operations and logs. */
  callerId: string;
  /** The caller's display name, when the credential carries one (Entra), for the audit log. */
  callerName?: string;
}

/** The caller as services record it: the stable id, and the display name beside it. */
export const callerOf = (call: Call): Caller => ({
  id: call.callerId,
  ...(call.callerName ? { name: call.callerName } : {}),
});

/** What a request's log lines carry: the ccs-id or operation its route names. */
function routeFields(request: HttpRequest): LogFields {
  const { ccsId, id } = request.params;
  return {
    ...(ccsId ? { ccsId: ccsId.slice(0, 64) } : {}),
    ...(id && request.url.includes('/operations/') ? { operationId: id.slice(0, 64) } : {}),
  };
}

export function guarded(role: Role, handler: (call: Call) => Promise<HttpResponseInit>): HttpHandler {
  return (request, context) =>
    inInvocation(context, routeFields(request), async () => {
      let app: AppContext | undefined;
      try {
        app = getAppContext();
        const principal = await app.auth.authenticate((name) => request.headers.get(name));
        authorize(principal, role);
        return await handler({
          request,
          context,
          app,
          principal,
          callerId: `${principal.kind}:${principal.id}`,
          ...(principal.kind === 'entra' ? { callerName: principal.name } : {}),
        });
      } catch (error) {
        return failure(error, app?.log ?? invocationLogger(stderrLog));
      }
    });
}
