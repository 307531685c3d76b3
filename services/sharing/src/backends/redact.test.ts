import { describe, expect, it } from 'vitest';
import { redactSessionStrings } from './backend-commands.ts';

describe('worker log tails in failure reasons', () => {
  it('hide the ssh targets and web links a tmate or upterm session prints, and keep the rest', () => {
    const said = [
      'ssh session: ssh AbC123xyz@relay.example.com',
      'web session: https://relay.example.com/t/WebTok456',
      'upterm: ssh IqKsfoiclsNnxqztDKoj:MTAuMC40OS4xNjY6MjI=@uptermd.upterm.dev',
      'ssh -p 2222 PortTok789@relay.example.com',
      'WrappedTok000:ZmFrZQ==@uptermd.upterm.dev', // upterm wraps a long ssh line: the target alone
      'relay.example.com/t/CutTok111', // a link whose scheme fell off
      'Connecting to 127.0.0.1:1 failed',
    ].join(' | ');
    const out = redactSessionStrings(said);
    for (const secret of [
      'AbC123xyz',
      'WebTok456',
      'IqKsfoiclsNnxqztDKoj',
      'MTAuMC40OS4xNjY6MjI',
      'PortTok789',
      'WrappedTok000',
      'CutTok111',
    ])
      expect(out).not.toContain(secret);
    expect(out).toContain('<redacted ssh target>');
    expect(out).toContain('<redacted link>');
    expect(out).toContain('Connecting to 127.0.0.1:1 failed');
  });
});
