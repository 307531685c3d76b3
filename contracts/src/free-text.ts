import { z } from 'zod';
import { scrubString } from './redact.ts';

/**
 * Text that people and tools write into commands (reasons, names, notes, titles). Credential shapes
 * in it are redacted as it is parsed, so what the actor host validates reaches the stream redacted;
 * the limits apply to the redacted text, which is what is stored.
 */
export const freeText = (max: number) => z.string().overwrite(scrubString).max(max);
