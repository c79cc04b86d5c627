/**
 * `GET /api/me`: who the credentials belong to and what they may do — so a client (the console)
 * shows write actions only to callers who may write, without trying a write first.
 */
import { defineHttp } from '../route-table.js';
import { guarded } from './guard.js';
import { json } from './respond.js';

export const getMe = guarded('read', ({ principal }) =>
  Promise.resolve(
    json(200, {
      name: principal.name,
      kind: principal.kind,
      role: principal.role,
      can_write: principal.role === 'write',
    }),
  ),
);

defineHttp({ name: 'getMe', route: 'me', methods: ['GET'], handler: getMe });
