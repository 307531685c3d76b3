import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ResponseCheck } from './checked-fetch.ts';
import { OpenApiChecker, type OpenApiDoc } from './openapi-checker.ts';

/** The committed document: contracts' test proves it is the generated one, tests/src/openapi that tether serves that. */
export const OPENAPI_FILE = fileURLToPath(new URL('../../../contracts/openapi.json', import.meta.url));

let doc: OpenApiDoc | undefined;
/** Read once per test file on first use (generating it anew would cost each file half a second). */
export const servedDocument = () => (doc ??= JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDoc);

/**
 * The check of every response from tether in this test file: fetch goes through it (the setup file),
 * and so do the pages a browser opens (harness/browser.ts). Its tally is the file's final check.
 */
export const tetherResponses = new ResponseCheck(() => new OpenApiChecker(servedDocument()), servedDocument);
