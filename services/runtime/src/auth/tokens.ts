import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// A token is "tth_<credential id>_<secret>": the id says which credential to check, the secret (256
// random bits) proves it. Only sha256(secret) is stored; the token is shown once.

const TOKEN = /^tth_([0-9a-f-]{36})_([A-Za-z0-9_-]{43})$/;

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A fresh token for a credential id, and the hash its credential keeps. */
export function mintToken(credentialId: string): { token: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `tth_${credentialId}_${secret}`, hash: hashSecret(secret) };
}

/** The credential id and secret of a well-formed token, else undefined. */
export function parseToken(token: string): { credentialId: string; secret: string } | undefined {
  const m = TOKEN.exec(token);
  return m ? { credentialId: m[1]!, secret: m[2]! } : undefined;
}

/** Whether `secret` is the one whose hash is `hash`, in constant time. */
export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
