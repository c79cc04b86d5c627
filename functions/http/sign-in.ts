/**
 * `GET /api/sign-in/entra`: how to sign in with Microsoft Entra ID (tenant, authority, scope, the
 * console's client id), or 404 when the API accepts access tokens only. Anonymous: a client needs
 * it before it has a token (shared/auth/sign-in.ts says why it is safe to show).
 */
import { DomainError } from '../../shared/errors.js';
import { entraSignIn } from '../../shared/auth/sign-in.js';
import { getAppContext } from '../app-context.js';
import { defineHttp } from '../route-table.js';
import { anonymous } from './anonymous.js';
import { json } from './respond.js';

export const getEntraSignIn = anonymous(() => {
  const entra = entraSignIn(getAppContext().config);
  if (!entra) {
    throw new DomainError(
      'not-found',
      'EntraNotConfigured',
      'This API does not accept Entra ID tokens; sign in with an access token',
      'entra',
    );
  }
  return Promise.resolve(json(200, entra));
});

defineHttp({
  name: 'getEntraSignIn',
  route: 'sign-in/entra',
  methods: ['GET'],
  handler: getEntraSignIn,
  anonymous: true,
});
