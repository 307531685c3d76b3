import { parseConfig } from '@tether/contracts';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  TmateAdapter,
  UptermAdapter,
  findExecutable,
  tmateOptions,
  uptermOptions,
  uptermSshCommand,
  type BackendStartSpec,
  type RunningShareWorker,
} from '@tether/sharing';
import { eventually, rejection, uid } from '../harness/index.ts';

// Named fakes (test doubles), not the real tools: see the comment at the top of each.
const FAKE_TMATE = fileURLToPath(new URL('../../fakes/fake-tmate.mjs', import.meta.url));
const FAKE_UPTERM = fileURLToPath(new URL('../../fakes/fake-upterm.mjs', import.meta.url));
const REAL_TMATE = findExecutable('tmate');
if (!REAL_TMATE)
  console.warn(
    'backends.test: the real-tmate test is skipped because `tmate` is not installed (apt-get install tmate)',
  );

const dir = mkdtempSync(join(tmpdir(), 'tether-backends-'));
const tmuxSocket = join(dir, 't.sock');
const tmux = (...args: string[]) => execa('tmux', ['-S', tmuxSocket, ...args], { reject: false });

/** Live (non-zombie) pids whose environment has name=value; the test's own scan, independent of the code under test. */
function marked(name: string, value: string): number[] {
  const needle = `${name}=${value}\0`;
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return (
          `${readFileSync(`/proc/${e}/environ`, 'latin1')}\0`.includes(needle) &&
          !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${e}/stat`, 'latin1'))
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

let owner = '';
let started: RunningShareWorker[] = [];
const spec = (over: Partial<BackendStartSpec> = {}): BackendStartSpec => {
  const shareId = over.shareId ?? uid('share');
  return {
    shareId,
    terminalId: 'term1',
    access: 'read',
    tmuxSocket,
    workDir: join(dir, shareId),
    env: { TETHER_OWNER: owner },
    readyTimeoutMs: 5_000,
    ...over,
  };
};
const keep = (w: RunningShareWorker) => {
  started.push(w);
  return w;
};

/** A TCP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  // plays the tether terminal: a real tmux session on a private socket
  expect((await tmux('new-session', '-d', '-s', 'term1', '-x', '120', '-y', '40', 'sh')).exitCode).toBe(0);
});
afterAll(async () => {
  await tmux('kill-server');
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  owner = uid('owner');
  started = [];
});
afterEach(async () => {
  await Promise.all(started.map((w) => w.stop()));
  expect(marked('TETHER_OWNER', owner)).toEqual([]);
});

async function terminalStillWorks() {
  expect((await tmux('has-session', '-t', '=term1')).exitCode).toBe(0);
  const size = (await tmux('display-message', '-p', '-t', '=term1:', '#{window_width}x#{window_height}')).stdout;
  expect(size).toBe('120x40'); // no sharing client resized it
  await tmux('send-keys', '-t', '=term1:', 'echo ok-$((40+2))', 'Enter');
  await eventually(
    async () => (await tmux('capture-pane', '-p', '-t', '=term1:')).stdout,
    (out) => /^ok-42$/m.test(out),
    5_000,
  );
}

describe('tmate adapter', () => {
  it.skipIf(!REAL_TMATE)(
    'real tmate with no relay reachable: BACKEND_NOT_READY within the bound, group killed, terminal untouched',
    async () => {
      const port = await closedPort();
      const adapter = new TmateAdapter({
        serverHost: '127.0.0.1',
        serverPort: port,
        ed25519Fingerprint: 'SHA256:nothing-listens-there',
      });
      const s = spec({ readyTimeoutMs: 1_500 });
      const t0 = Date.now();
      const err = await rejection(adapter.start(s));
      const took = Date.now() - t0;
      expect(err).toMatchObject({ code: 'NOT_ALLOWED', reason: 'BACKEND_NOT_READY' });
      expect(err.message).toContain(
        `tmate could not reach its relay 127.0.0.1:${port} within 1.5 s; check TETHER_TMATE_HOST/PORT and that tmate-ssh-server runs`,
      );
      expect(took).toBeGreaterThanOrEqual(1_400);
      expect(took).toBeLessThan(1_500 + 3_500); // the ready bound plus at most the SIGTERM grace
      expect(readFileSync(join(s.workDir, 'tmate.log'), 'utf8')).toMatch(/Connecting to 127\.0\.0\.1/); // it was the real tmate, trying
      expect(marked('TETHER_SHARE_ID', s.shareId)).toEqual([]);
      expect(marked('TETHER_OWNER', owner)).toEqual([]);
      await terminalStillWorks();
    },
  );

  it('check(): no relay host, no fingerprint, or no binary is BACKEND_UNAVAILABLE saying what to set', async () => {
    const noHost = await rejection(new TmateAdapter({ bin: FAKE_TMATE }).check());
    expect(noHost).toMatchObject({ code: 'NOT_ALLOWED', reason: 'BACKEND_UNAVAILABLE' });
    expect(noHost.message).toContain('TETHER_TMATE_HOST');
    const noKey = await rejection(new TmateAdapter({ bin: FAKE_TMATE, serverHost: 'relay.example' }).check());
    expect(noKey).toMatchObject({ reason: 'BACKEND_UNAVAILABLE' });
    expect(noKey.message).toContain('TETHER_TMATE_ED25519_FINGERPRINT');
    const missing = join(dir, 'no-such-tmate');
    const noBin = await rejection(
      new TmateAdapter({ bin: missing, serverHost: 'relay.example', ed25519Fingerprint: 'SHA256:x' }).check(),
    );
    expect(noBin).toMatchObject({ code: 'NOT_ALLOWED', reason: 'BACKEND_UNAVAILABLE' });
    expect(noBin.message).toContain(missing);
    // start() checks first: nothing is spawned
    expect(await rejection(new TmateAdapter({ bin: FAKE_TMATE }).start(spec()))).toMatchObject({
      reason: 'BACKEND_UNAVAILABLE',
    });
    expect(
      tmateOptions(
        parseConfig({
          TETHER_TMATE_BIN: '/x/tmate',
          TETHER_TMATE_HOST: 'h',
          TETHER_TMATE_PORT: '2200',
          TETHER_TMATE_RSA_FINGERPRINT: 'r',
          TETHER_TMATE_ED25519_FINGERPRINT: 'e',
        }).config,
      ),
    ).toEqual({
      bin: '/x/tmate',
      serverHost: 'h',
      serverPort: 2200,
      rsaFingerprint: 'r',
      ed25519Fingerprint: 'e',
    });
  });

  const fakeTmate = () =>
    new TmateAdapter({ bin: FAKE_TMATE, serverHost: '127.0.0.1', serverPort: 7, ed25519Fingerprint: 'SHA256:fake' });

  it('fake tmate: links by access, probe, a SIGSTOPped worker fails its probe and is SIGKILLed by stop()', async () => {
    const ro = keep(await fakeTmate().start(spec({ access: 'read' })));
    expect(Object.keys(ro.links).sort()).toEqual(['ssh_ro', 'web_ro']);
    expect(ro.links.ssh_ro).toMatch(/^ssh ro-FAKE-[0-9a-f]+@fake-tmate\.invalid$/);
    expect(ro.links.web_ro).toMatch(/^https:\/\/fake-tmate\.invalid\/t\/ro-FAKE-/);

    const s = spec({ access: 'write' });
    const rw = keep(await fakeTmate().start(s));
    expect(Object.keys(rw.links).sort()).toEqual(['ssh_ro', 'ssh_rw', 'web_ro', 'web_rw']);
    expect(rw.links.ssh_rw).toMatch(/^ssh rw-FAKE-[0-9a-f]+@fake-tmate\.invalid$/);
    const conf = readFileSync(join(s.workDir, 'tmate.conf'), 'utf8');
    expect(conf).toContain("set -g tmate-server-host '127.0.0.1'");
    expect(conf).toContain('set -g tmate-server-port 7');
    expect(conf).toContain("set -g tmate-server-ed25519-fingerprint 'SHA256:fake'");
    expect(marked('TETHER_SHARE_ID', s.shareId)).toContain(rw.pid);

    await rw.probe(2_000);
    process.kill(rw.pid, 'SIGSTOP'); // hung, as far as its clients can tell
    const t0 = Date.now();
    expect(await rejection(rw.probe(500))).toMatchObject({ reason: 'BACKEND_FAILED' });
    expect(Date.now() - t0).toBeLessThan(2_000);

    await rw.stop(); // SIGTERM stays pending on a stopped process; SIGKILL after 3 s ends it
    expect(await rw.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(marked('TETHER_SHARE_ID', s.shareId)).toEqual([]);

    await ro.probe(2_000); // the other share is unaffected
    await ro.stop();
    expect(await ro.exited).toEqual({ code: 0, signal: null }); // the fake ends cleanly on SIGTERM
    await terminalStillWorks();
  });

  it('fake tmate: a SIGKILLed worker resolves exited with SIGKILL; stop() afterwards is harmless', async () => {
    const w = keep(await fakeTmate().start(spec()));
    process.kill(w.pid, 'SIGKILL');
    expect(await w.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await rejection(w.probe(500))).toMatchObject({ reason: 'BACKEND_FAILED' });
    await w.stop();
  });

  it('a terminal without a tmux session is BACKEND_FAILED before anything starts', async () => {
    expect(await rejection(fakeTmate().start(spec({ terminalId: 'no-such-term' })))).toMatchObject({
      reason: 'BACKEND_FAILED',
    });
  });
});

describe('upterm adapter', () => {
  it.skipIf(findExecutable('upterm'))(
    'real missing binary: BACKEND_UNAVAILABLE with the install hint, nothing started',
    async () => {
      const hint =
        'upterm is not installed (looked for "upterm" on PATH); install it from https://github.com/owenthereal/upterm/releases or set TETHER_UPTERM_BIN';
      const err = await rejection(new UptermAdapter(uptermOptions(parseConfig({}).config)).check());
      expect(err).toMatchObject({ code: 'NOT_ALLOWED', reason: 'BACKEND_UNAVAILABLE', message: hint });
      expect(await rejection(new UptermAdapter().start(spec()))).toMatchObject({
        reason: 'BACKEND_UNAVAILABLE',
        message: hint,
      });
    },
  );

  it('fake upterm: --read-only for a read share gives ssh_ro; write gives ssh_rw; stop() leaves nothing', async () => {
    const adapter = new UptermAdapter({ bin: FAKE_UPTERM, server: 'ssh://uptermd.invalid:22' });
    const s = spec({ access: 'read' });
    const ro = keep(await adapter.start(s));
    expect(ro.links).toEqual({ ssh_ro: expect.stringMatching(/^ssh ro-fake[0-9a-f]+@fake-upterm\.invalid$/) });
    await ro.probe(2_000);
    const admin = readFileSync(join(s.workDir, 'admin-socket'), 'utf8'); // written by the hosted command, as with the real upterm
    const table = (await execa(FAKE_UPTERM, ['session', 'current', '--admin-socket', admin])).stdout;
    expect(table).toMatch(/^Read-only:\s+true$/m);
    expect(table).toMatch(/^Host:\s+ssh:\/\/uptermd\.invalid:22$/m);

    const rw = keep(await adapter.start(spec({ access: 'write' })));
    expect(rw.links).toEqual({ ssh_rw: expect.stringMatching(/^ssh rw-fake[0-9a-f]+@fake-upterm\.invalid$/) });

    await Promise.all([ro.stop(), rw.stop()]);
    expect(marked('TETHER_SHARE_ID', s.shareId)).toEqual([]);
    expect(await ro.exited).toEqual({ code: 0, signal: null });
    await terminalStillWorks();
  });

  it('reads the ssh command from both upterm table formats', () => {
    const old =
      '=== IQKSFOICLSNNXQZTDKOJ\nCommand:                bash\nForce Command:          n/a\nHost:                   ssh://uptermd.upterm.dev:22\nSSH Session:            ssh IqKsfoiclsNnxqztDKoj:MTAuMC40OS4xNjY6MjI=@uptermd.upterm.dev\n';
    expect(uptermSshCommand(old)).toBe('ssh IqKsfoiclsNnxqztDKoj:MTAuMC40OS4xNjY6MjI=@uptermd.upterm.dev');
    // newer releases: "➤ SSH Command:" and values hard-wrapped at the terminal width onto indented lines
    const wrapped = [
      'Session: bo6nosstp9ll08doq0rg',
      '',
      'Command:          bash',
      'Host:             ssh://uptermd.upterm.dev:22',
      '',
      '\x1b[1m➤ SSH Command:\x1b[0m   ssh bo6nosstp9ll08doq0rg:MTAuMC4xNzAuMTY0OjIyMTAuMC4xNzAuMTY0',
      '                  OjIy@uptermd.upterm.dev',
      '',
      'Connected Clients:',
      '  ann',
    ].join('\n');
    expect(uptermSshCommand(wrapped)).toBe(
      'ssh bo6nosstp9ll08doq0rg:MTAuMC4xNzAuMTY0OjIyMTAuMC4xNzAuMTY0OjIy@uptermd.upterm.dev',
    );
    expect(uptermSshCommand('no session here')).toBeUndefined();
  });
});
