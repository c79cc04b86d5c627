/**
 * Wraps a handler: authenticate, check the role, run, and map any failure to a response.
 * Every HTTP endpoint goes through this, so none can answer without authentication and none
 * can leak an exception.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { authorize } from '../../shared/auth/authenticate.js';
import type { Principal, Role } from '../../shared/auth/principal.js';
import { getAppContext, type AppContext } from '../app-context.js';
import { failure } from './respond.js';

export interface Call {
  request: HttpRequest;
  context: InvocationContext;
  app: AppContext;
  principal: Principal;
  /** `access-token:<name>` / `entra:<name>`: who asked, for operations and logs. */
  callerId: string;
}

export function guarded(role: Role, handler: (call: Call) => Promise<HttpResponseInit>): HttpHandler {
  return async (request, context) => {
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
        callerId: `${principal.kind}:${principal.name}`,
      });
    } catch (error) {
      return failure(error, app?.log ?? { info: () => {}, warn: () => {}, error: (m) => context.error(m) });
    }
  };
}
