import { createHash } from 'node:crypto';

// The installation key moved to the runtime (checkpoints seal terminal environments with it too).
export { SecretBox } from '@tether/runtime';

/** What the stream keeps of a token. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
