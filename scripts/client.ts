/**
 * `npm run client`: regenerate the typed client's types (client/schema.ts) from the document the
 * API serves. By default the document of this tree's handlers, served in-process; with
 * `--api <url>` (token in CCS_TOKEN) the document of a running API. `--check` writes nothing and
 * exits 1 when the file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fetchDocument, servedDocument } from './client/served-document.js';
import { renderClientSchema, SCHEMA_FILE } from './client/render.js';

const { values } = parseArgs({
  options: { api: { type: 'string' }, check: { type: 'boolean', default: false } },
  strict: true,
});

let document: unknown;
if (values.api) {
  const token = process.env.CCS_TOKEN;
  if (!token) {
    process.stderr.write('npm run client -- --api <url>: set CCS_TOKEN to an access token of that API\n');
    process.exit(2);
  }
  document = await fetchDocument(values.api, token);
} else {
  document = await servedDocument();
}
const source = await renderClientSchema(document);
const current = (() => {
  try {
    return readFileSync(SCHEMA_FILE, 'utf8');
  } catch {
    return '';
  }
})();
if (values.check) {
  if (current !== source) {
    process.stderr.write(
      'client/schema.ts is out of date with the served OpenAPI document: run npm run client\n',
    );
    process.exit(1);
  }
  process.stdout.write('client/schema.ts matches the served OpenAPI document\n');
} else {
  writeFileSync(SCHEMA_FILE, source);
  process.stdout.write(
    current === source ? 'client/schema.ts was up to date\n' : 'client/schema.ts regenerated\n',
  );
}
