import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { loadKeyFile } from './key-file.ts';

/**
 * tether's installation key (32 random bytes in the data folder, mode 0600): derives participant
 * tokens, so a resent command gets the same link without the token ever being stored, and seals
 * backend links and the environments of terminal checkpoints.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static load(file: string): SecretBox {
    return new SecretBox(loadKeyFile(file, 'existing links stop working and checkpoints lose their environments'));
  }

  /** A 256-bit bearer token, fixed for `seed` (e.g. command id + participant id). */
  token(seed: string): string {
    return createHmac('sha256', this.key).update(`token:${seed}`).digest('base64url');
  }

  seal(value: unknown): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
    return [iv, c.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
  }

  open<T>(sealed: string): T {
    const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
    const d = createDecipheriv('aes-256-gcm', this.key, iv!);
    d.setAuthTag(tag!);
    return JSON.parse(Buffer.concat([d.update(body!), d.final()]).toString('utf8')) as T;
  }
}
