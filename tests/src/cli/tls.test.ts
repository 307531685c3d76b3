import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { TetherProcess, eventually } from '../harness/index.ts';

// Exposing tether: a non-loopback --bind without TLS is warned about; with TETHER_TLS_CERT and
// TETHER_TLS_KEY the gateway serves https, and the dashboard's session cookie is Secure.

const procs: TetherProcess[] = [];
afterAll(async () => Promise.all(procs.map((p) => p.kill())));

/** A self-signed certificate for 127.0.0.1, made with the real openssl. */
async function selfSigned(): Promise<{ cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-tls-'));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  await execa('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** One https request that trusts only `ca`. */
function https(
  url: string,
  ca: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
    (resolve, reject) => {
      const req = request(url, { method: init.method ?? 'GET', headers: init.headers, ca }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end(init.body);
    },
  );
}

describe('exposing tether', () => {
  it('warns loudly when it listens beyond loopback without TLS', async () => {
    const up = await TetherProcess.start({ TETHER_NO_CHILD_NATS: '1' }, ['--bind', '0.0.0.0']);
    procs.push(up);
    expect(up.url.startsWith('http://')).toBe(true);
    // stderr may trail the ready line on stdout
    const logs = await eventually(
      () => up.logs,
      (l) => l.includes('without TLS'),
    );
    expect(logs).toContain('TETHER_TLS_CERT');
  });

  it('serves https with TETHER_TLS_CERT and TETHER_TLS_KEY; the session cookie is Secure', async () => {
    const { cert, key } = await selfSigned();
    const up = await TetherProcess.start({ TETHER_NO_CHILD_NATS: '1', TETHER_TLS_CERT: cert, TETHER_TLS_KEY: key });
    procs.push(up);
    expect(up.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(cert, 'utf8');
    expect((await https(`${up.url}/healthz`, ca)).status).toBe(200);
    const link = await https(`${up.url}/v1/login-links`, ca, {
      method: 'POST',
      headers: { authorization: `Bearer ${up.token}` },
    });
    expect(link.status).toBe(201);
    const { url } = JSON.parse(link.body) as { url: string };
    expect(url.startsWith('https://')).toBe(true);
    const signIn = await https(`${up.url}/login`, ca, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: new URLSearchParams(new URL(url).hash.slice(1)).get('token') }),
    });
    expect(signIn.status).toBe(204);
    expect(String(signIn.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict; Max-Age=\d+; Secure/);
  });

  it('behind a TLS proxy (TETHER_PUBLIC_URL https): sign-in links point there and the session cookie is Secure', async () => {
    const up = await TetherProcess.start({
      TETHER_NO_CHILD_NATS: '1',
      TETHER_PUBLIC_URL: 'https://tether.example.test',
    });
    procs.push(up);
    const link = await fetch(`${up.url}/v1/login-links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${up.token}` },
    });
    const { url } = (await link.json()) as { url: string };
    expect(url).toMatch(/^https:\/\/tether\.example\.test\/login#token=tth_/);
    const signIn = await fetch(`${up.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: new URLSearchParams(new URL(url).hash.slice(1)).get('token') }),
    });
    expect(signIn.status).toBe(204);
    expect(signIn.headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('refuses to start with only one of the two TLS files', async () => {
    const { cert } = await selfSigned();
    await expect(TetherProcess.start({ TETHER_NO_CHILD_NATS: '1', TETHER_TLS_CERT: cert })).rejects.toThrow(
      /set both TETHER_TLS_CERT and TETHER_TLS_KEY/,
    );
  });
});
