import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretKey, redact, scrubString } from './redact.ts';

describe('redact', () => {
  it('replaces values under secret-looking keys at any depth and leaves the input alone', () => {
    const data = {
      participantId: 'p1',
      tokenHash: 'ab'.repeat(32),
      sealedLinks: 'v1:abcdef',
      links: { rw: 'ssh x@h', ro: 'https://h/ro' },
      nested: [{ password: 'hunter2', name: 'ann' }, { api_key: 42 }],
      Authorization: 'Bearer abc.def',
      'x-api-key': 'k',
      cookie: 'sid=1',
      credentials: ['a', 'b'],
    };
    const copy = JSON.parse(JSON.stringify(data));
    expect(redact(data)).toEqual({
      participantId: 'p1',
      tokenHash: REDACTED,
      sealedLinks: REDACTED,
      links: REDACTED,
      nested: [{ password: REDACTED, name: 'ann' }, { api_key: REDACTED }],
      Authorization: REDACTED,
      'x-api-key': REDACTED,
      cookie: REDACTED,
      credentials: REDACTED,
    });
    expect(data).toEqual(copy);
  });

  it('keeps keys that describe a secret rather than hold it, and words that merely contain "key"', () => {
    for (const k of [
      'keyCount',
      'tokenExpiresAt',
      'linkTtlMs',
      'tokenId',
      'hashAlgorithm',
      'hasToken',
      'isLinkValid',
      'monkey',
      'keyboardLayout',
      'hostKeyFingerprint',
      'keyPath',
      'commitHash',
      'prevHash',
      'holder',
      'reason',
    ]) {
      expect(isSecretKey(k), k).toBe(false);
    }
    for (const k of [
      'token',
      'secret',
      'password',
      'passwd',
      'key',
      'apiKey',
      'privateKey',
      'hash',
      'tokenHash',
      'link',
      'rwLink',
      'cookies',
      'authorization',
      'credential',
      'client_secret',
      'accessToken',
    ]) {
      expect(isSecretKey(k), k).toBe(true);
    }
    expect(redact({ keyCount: 3, hasToken: true, token: null, secret: false, link: '' })).toEqual({
      keyCount: 3,
      hasToken: true,
      token: null,
      secret: false,
      link: '',
    });
  });

  it('redacts bearer-looking strings under any key', () => {
    expect(scrubString('open https://relay.example/s/abc#k=SECRET now')).toBe(`open ${REDACTED} now`);
    expect(scrubString('https://relay.example/join?token=abc&x=1')).toBe(REDACTED);
    expect(scrubString('https://relay.example/join?x=1&access_token=abc')).toBe(REDACTED);
    expect(scrubString('https://user:pw@host.example/path')).toBe(REDACTED);
    expect(scrubString('ssh://sessiontoken@nyc1.tmate.io')).toBe(REDACTED);
    expect(scrubString('ssh Xy7abcDEF@nyc1.tmate.io')).toBe(`ssh ${REDACTED}@nyc1.tmate.io`);
    expect(scrubString('run: ssh -p 2222 -o StrictHostKeyChecking=no tok3n@uptermd.example')).toBe(
      `run: ssh -p 2222 -o StrictHostKeyChecking=no ${REDACTED}@uptermd.example`,
    );
    expect(scrubString('Authorization: Bearer abcdef123456')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(scrubString('token=abc and password=hunter2, page=2')).toBe(
      `token=${REDACTED} and password=${REDACTED}, page=2`,
    );
    expect(scrubString('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-part')).toBe(REDACTED);
  });

  // Built at run time, so no credential-shaped literal sits in the source.
  const b62 = (n: number) => 'aB3dE6gH9kLmN0pQrS2tUvW4xYz5'.repeat(10).slice(0, n);
  const pem = (kind: string) =>
    [`-----BEGIN ${kind}-----`, 'MIIEowIBAAKCAQEA7b', 'q3mJ0x9Zk2', `-----END ${kind}-----`].join('\n');
  const shapes: Array<[string, string, string]> = [
    // [what, the credential, a near miss that must stay]
    ['AWS access key id', `AKIA${'IOSFODNN7EXAMPLE'}`, 'AKIA-IOSFODNN7'],
    ['AWS temporary key id', `ASIA${'Q3EGVZ5NWBRN7XK2'}`, `ASIA${'Q3EGVZ5NWBRN7XK2'}X`],
    ['GitHub classic token', `ghp_${b62(36)}`, `ghp_${b62(35)}`],
    ['GitHub OAuth token', `gho_${b62(36)}`, 'gho_away'],
    ['GitHub fine-grained token', `github_pat_${b62(22)}_${b62(59)}`, 'github_pat_docs'],
    ['PEM private key', pem('RSA PRIVATE KEY'), pem('PUBLIC KEY')],
    ['PKCS#8 private key', pem('PRIVATE KEY'), pem('CERTIFICATE')],
    ['JWT', `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.${b62(43)}`, 'eyJhbGciOiJIUzI1NiJ9'],
    ['Slack bot token', `xoxb-${'1234567890'}-${b62(24)}`, 'xoxo-hugs'],
    ['Slack user token', `xoxp-${'1234567890'}-${b62(24)}`, 'xoxb-1'],
    ['tether token', `tth_${'0f8b1c2e-4d5a-4e6f-9a7b-8c9d0e1f2a3b'}_${b62(43)}`, 'tth_docs'],
  ];

  it.each(shapes)('%s: redacted wherever it appears; its near miss stays', (_what, secret, nearMiss) => {
    for (const text of [secret, `reason: leaked ${secret} in a log`, `"${secret}"`, `x=${secret};`]) {
      const out = scrubString(text);
      expect(out, text).not.toContain(secret);
      expect(out).toContain(REDACTED);
    }
    expect(scrubString(`see ${secret}`)).toBe(`see ${REDACTED}`);
    expect(scrubString(`near miss: ${nearMiss}`)).toBe(`near miss: ${nearMiss}`);
    expect(redact({ note: `got ${secret}` })).toEqual({ note: `got ${REDACTED}` });
  });

  it('redacts a private key cut off before its end line, to the end of the text', () => {
    const cut = `key follows -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA`;
    expect(scrubString(cut)).toBe(`key follows ${REDACTED}`);
  });

  it('leaves ordinary text, plain URLs and emails readable', () => {
    for (const s of [
      'ttl expired',
      'https://docs.example/share?page=2',
      'mailto ann@example.com',
      'exited with code=137',
      'state held -> released',
      'ssh-agent is running',
    ]) {
      expect(scrubString(s)).toBe(s);
    }
    expect(
      redact({
        holder: 'ann',
        note: 'see https://tether.example/lanes/1',
        ttlMs: 5_000,
        ok: true,
        list: [1, 'two', null],
      }),
    ).toEqual({
      holder: 'ann',
      note: 'see https://tether.example/lanes/1',
      ttlMs: 5_000,
      ok: true,
      list: [1, 'two', null],
    });
  });

  it('stays fast on long hostile strings', () => {
    const started = performance.now();
    scrubString(`ssh ${'-o a '.repeat(2_000)}x`);
    scrubString(`a=${'b'.repeat(50_000)}`);
    scrubString(`https://${'a.'.repeat(20_000)}`);
    scrubString(`-----BEGIN ${'A '.repeat(20_000)}`);
    scrubString('-----BEGIN PRIVATE KEY-----'.repeat(2_000));
    expect(performance.now() - started).toBeLessThan(500);
  });
});
