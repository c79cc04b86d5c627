import { afterAll, beforeAll, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { TABLES } from '../../shared/adapters/table-repositories.js';

let api: ApiHarness;
beforeAll(async () => { api = await startApiHarness(); });
afterAll(async () => { await api?.close(); });

const R = '/webserver/centralized-certificates/';
async function show(label: string, res: Response) { console.log(label, res.status, (await res.text()).slice(0, 300)); }

it('probe', async () => {
  let t = Date.now();
  for (let i = 0; i < 100; i++) await api.request('GET', R + 'nope');
  console.log('100 GET ms', Date.now() - t);
  t = Date.now();
  for (let i = 0; i < 100; i++) await api.request('PATCH', R + 'nope', { body: { colour: 1 } });
  console.log('100 bad PATCH ms', Date.now() - t);
  t = Date.now();
  for (let i = 0; i < 50; i++) {
    for (const name of Object.values(TABLES)) { const c = api.app.storage.table(name); for await (const _ of c.listEntities()) { /* */ } }
    for await (const q of api.app.storage.queues.listQueues()) { await api.app.storage.queue(q.name).getProperties(); }
  }
  console.log('50 snapshots ms', Date.now() - t);
  const good = { path: 'C:\\certs', identity: { username: 'CONTOSO\\svc', password: 'p' } };
  await show('lone surrogate user', await api.request('POST', R + 'a1', { body: { ...good, identity: { username: 'CONTOSO\\sv\uD800c', password: 'p' } } }));
  await show('lone surrogate pw', await api.request('POST', R + 'a2', { body: { ...good, identity: { username: 'CONTOSO\\svc', password: 'p\uDC00' } } }));
  await show('bidi user', await api.request('POST', R + 'a3', { body: { ...good, identity: { username: 'CONTOSO\\sv\u202Ec', password: 'p' } } }));
  await show('deep', await api.request('POST', R + 'a4', { body: '{"path":' + '['.repeat(30000) + ']'.repeat(30000) + '}' }));
  await show('deep hosts', await api.request('PATCH', R + 'a1', { body: '{"hosts":' + '['.repeat(30000) + ']'.repeat(30000) + '}' }));
  await show('deep obj', await api.request('PATCH', R + 'a1', { body: '{"hosts":' + '{"a":'.repeat(10000) + '1' + '}'.repeat(10000) + '}' }));
  await show('dup', await api.request('POST', R + 'a5', { body: '{"path":"C:\\\\certs","path":"D:\\\\x","identity":{"username":"a","password":"b"}}' }));
  await show('proto', await api.request('POST', R + 'a6', { body: '{"__proto__":{"x":1},"path":"C:\\\\certs","identity":{"username":"a","password":"b"}}' }));
  await show('user@', await api.request('POST', R + 'a7', { body: { ...good, identity: { username: 'a@b@c', password: 'p' } } }));
  await show('big user', await api.request('POST', R + 'a8', { body: { ...good, identity: { username: 'D\\' + 'u'.repeat(254), password: 'p' } } }));
  await show('pw ws', await api.request('POST', R + 'a9', { body: { ...good, identity: { username: 'u', password: ' ' } } }));
  await show('opid', await api.request('GET', '/operations/' + 'g'.repeat(36)));
  await show('opid2', await api.request('GET', '/operations/' + '-'.repeat(36)));
  await show('pct', await api.request('GET', R + '%ZZ'));
  await show('pct2', await api.request('GET', R + '%00'));
  await show('ifmatch', await api.request('PATCH', R + 'a1', { body: { path: 'C:\\certs\\x' }, headers: { 'If-Match': '\u00ff'.repeat(10) } }));
  await show('prefer', await api.request('PATCH', R + 'a1', { body: { path: 'C:\\certs\\x' }, headers: { Prefer: 'wait=999999' } }));
  await show('ctype', await api.request('PATCH', R + 'a1', { body: 'x', headers: { 'Content-Type': 'text/plain' } }));
  await show('nobody', await api.request('PATCH', R + 'a1', { headers: { 'Content-Type': 'application/json' } }));
  await show('query', await api.request('GET', R + 'a1?$filter=x&x=%E0%A4%A'));
  console.log(JSON.stringify(api.vault.stats()));
});
