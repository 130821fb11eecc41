// Hookline's version, read from its package.json (one folder above both src/ and dist/), so that
// `hookline --version` and the OpenAPI document say what was installed.
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
