import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from './document.ts';

/** Where the committed copy lives; a test fails when it differs from the generated one. */
export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi.json', import.meta.url));
export const renderOpenApi = () => `${JSON.stringify(openApiDocument(), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  console.log(`wrote ${OPENAPI_PATH}`);
}
