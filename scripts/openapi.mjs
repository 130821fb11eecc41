// Build step: writes the API's OpenAPI document (the one GET /openapi.json serves) to the file
// named on the command line, from the compiled server and with no server on a port. The typed
// client (src/client/) is generated from it; the package ships it as hookline/openapi.json.
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../dist/api/openapi.js';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: node scripts/openapi.mjs <file>');
writeFileSync(file, JSON.stringify(await openApiDocument(), null, 2) + '\n');
