import { describe, expect, it } from 'vitest';
import { redactSessionStrings } from './process-group.ts';

describe('worker log tails in failure reasons', () => {
  it('hide the ssh targets and web links a tmate or upterm session prints, and keep the rest', () => {
    const said = 'ssh session: ssh AbC123xyz@relay.example.com | web session: https://relay.example.com/t/AbC123 | upterm: ssh Tk9:Zm9v@uptermd.example.com:22 | Connecting to 127.0.0.1:1 failed';
    const out = redactSessionStrings(said);
    for (const secret of ['AbC123xyz', 'AbC123', 'Tk9:Zm9v']) expect(out).not.toContain(secret);
    expect(out).toContain('<redacted ssh target>');
    expect(out).toContain('<redacted link>');
    expect(out).toContain('Connecting to 127.0.0.1:1 failed');
  });
});
