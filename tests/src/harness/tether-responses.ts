import { openApiDocument } from '@tether/contracts/openapi';
import { ResponseCheck } from './checked-fetch.ts';
import { OpenApiChecker, type OpenApiDoc } from './openapi-checker.ts';

let doc: OpenApiDoc | undefined;
/** The document as a client gets it (through JSON), generated once per test file on first use. */
export const servedDocument = () => (doc ??= JSON.parse(JSON.stringify(openApiDocument())) as OpenApiDoc);

/**
 * The check of every response from tether in this test file: fetch goes through it (the setup file),
 * and so do the pages a browser opens (harness/browser.ts). Its tally is the file's final check.
 */
export const tetherResponses = new ResponseCheck(() => new OpenApiChecker(servedDocument()), servedDocument);
