// Fails when src/api/schema.d.ts is not what openapi-typescript makes of docs/openapi.json
// today (the document itself is checked against the code by the Rust tests).
import openapiTS, { astToString } from 'openapi-typescript';
import { readFileSync } from 'node:fs';

const spec = new URL('../../docs/openapi.json', import.meta.url);
const fresh = astToString(await openapiTS(spec));
const kept = readFileSync(new URL('../src/api/schema.d.ts', import.meta.url), 'utf8');
const strip = (s) => s.replace(/^\/\*\*[\s\S]*?\*\/\s*/, '').trim();
if (strip(fresh) !== strip(kept)) {
  console.error('web/src/api/schema.d.ts is stale: run `npm run gen` in web/');
  process.exit(1);
}
console.log('typed client matches docs/openapi.json');
