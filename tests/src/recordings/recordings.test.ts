import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ShareCreated } from '@tether/contracts';
import { silentLogger, type TerminalAccess } from '@tether/runtime';
import {
  CastEncoder,
  CLAIM_BUCKET,
  followTerminal,
  NatsTerminalIO,
  ObjectStoreRecordingStore,
  Recorder,
  parseCast,
  RECORDING_BUCKET,
  sweepRecordings,
  termSubjects,
} from '@tether/workers';
import {
  api,
  asActor,
  bearer,
  eventually,
  gitRepo,
  runCli,
  signIn,
  TetherProcess,
  uid,
  useChromium,
  useControlPlane,
  type Tether,
} from '../harness/index.ts';
import { TEST_SHELL } from '../harness/test-shell.setup.ts';
import { getRun, runUntil, startRun } from '../live/task-helpers.ts';
import { as, createShare, policyFile, runningTerminal } from '../sharing/helpers.ts';

// Recordings are real: a real shell in real tmux prints, tether relays it (NATS or in process), the
// recorder writes asciicast v2 and stores it (the JetStream Object Store, or files on the embedded store).
const cp = useControlPlane({ TETHER_SHARE_POLICY: policyFile() });
const chromium = useChromium();
afterAll(async () => {
  // Task runs' tmux sessions live on their own socket.
  await execa('tmux', ['-S', join(cp.home, 'tasks', 'tmux.sock'), 'kill-server'], { reject: false });
});

const type = (terminalId: string, data: string, from: string) =>
  cp.ctx.store.nc.publish(termSubjects.in(terminalId), JSON.stringify({ data, from }));

/** GET /v1/recordings/{id} as `t`: the status, content type and body text. */
async function recording(t: Tether, id: string) {
  const res = await fetch(`${t.url}/v1/recordings/${id}`, { headers: bearer(t) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Enters (h) or leaves (l) the alternate screen. */
const ALT_SCREEN = new RegExp(`${String.fromCharCode(27)}\\[\\?(?:1049|1047|47)([hl])`, 'g');

const output = (cast: string) =>
  parseCast(cast)
    .events.map((e) => e[2])
    .join('');

/** A shared terminal (alice shares it, bob is the participant) that has printed `text`. */
async function sharedTerminalPrinting(t: Tether, text: string, say: typeof type) {
  const { term, session } = await runningTerminal(t);
  const created = await createShare(t, 'human:alice', { terminal_id: term.terminal_id, participant: 'bob' });
  expect(created.status).toBe(201);
  const { share } = ShareCreated.parse(created.body);
  say(
    term.terminal_id,
    `printf '%s-%s\\n' ${text.split('-')[0]} ${text.split('-').slice(1).join('-')}\r`,
    session.session_id,
  );
  return { term, session, share };
}

describe('recordings on NATS', () => {
  it("records a task run's terminal (its four panes) from the agent's first line in the object store, at intervals and when it ends; played by the run's id", async () => {
    // A real run: taskRun.run spawns its terminal, which shows the run's four-pane tmux session.
    const { reply } = await startRun(cp, { live: false, steps: 3000, name: 'recorded agent' });
    const { task_run_id: runId, terminal_id: terminalId } = reply.task_run;
    expect(reply.task_run.status).toBe('running');
    const os = await new Objm(jetstream(cp.ctx.store.nc)).open(RECORDING_BUCKET);
    const stored = async () => {
      const blob = await os.getBlob(terminalId).catch(() => null);
      return blob ? new TextDecoder().decode(blob) : '';
    };
    // Stored while the run still runs (the periodic store), so another tether can play it; the agent's
    // first line is in it (the agent waits until its terminal relays, and the recording starts with it).
    const during = await eventually(stored, (c) => c !== '' && /step \d+\/3000/.test(output(c)), 30_000);
    expect((await getRun(cp, runId)).status).toBe('running');
    expect(output(during)).toContain('scripted agent: 3000 steps');
    expect(parseCast(during).header).toMatchObject({ version: 2, width: 200, height: 50, title: `task run ${runId}` });

    // An operator message the agent prints after that store: it is in the final one only if recording went on.
    const message = `recorded-${uid('m')}`;
    let live = '';
    const sub = cp.ctx.store.nc.subscribe(termSubjects.out(terminalId), {
      callback: (_e, m) => {
        live += m.string();
      },
    });
    const sent = await api(cp, 'POST', `/v1/task-runs/${runId}/operator-messages`, { message });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    // Printed by the agent pane and by the inbox pane.
    await eventually(
      () => live,
      (o) => o.includes(`operator says: ${message}`) && o.includes(`human:ops: ${message}`),
      20_000,
    );
    sub.unsubscribe();
    expect(output(during)).not.toContain(message);
    const cancelled = await api(cp, 'POST', `/v1/task-runs/${runId}/control`, { action: 'cancel', reason: 'recorded' });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    await runUntil(cp, runId, (r) => r.status === 'cancelled', 30_000);
    // At the end: the whole recording stored, the local in-progress copy gone.
    const local = join(cp.home, 'recordings-in-progress', `${terminalId}.cast`);
    await eventually(
      () => existsSync(local),
      (e) => !e,
      20_000,
    );
    expect((await cp.server.host.state('terminal', terminalId))?.value).toBe('closed');
    const cast = await stored();
    const { header, events } = parseCast(cast);
    expect(header.timestamp).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(events.length).toBeGreaterThan(1);
    expect(events.every((e) => e[1] === 'o' && typeof e[2] === 'string')).toBe(true);
    const times = events.map((e) => e[0]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1)!).toBeGreaterThan(times[0]!);
    const text = output(cast);
    expect(text).not.toContain('\uFFFD');
    // The layout the agent prints in: each pane's title on its border, and what the other panes printed
    // (the task log's lines, the inbox pane's copy of the message).
    for (const pane of ['0: agent', '1: task log', '2: operator inbox', '3: operator shell'])
      expect(text, pane).toContain(pane);
    expect(text).toMatch(/started: agent pid \d+/);
    // The first full screen too (drawn again once the terminal's output is piped), greeting and all.
    expect(text).toContain('operator inbox: messages to the agent appear here');
    expect(text).toContain(`human:ops: ${message}`);
    expect(text).toContain('cancelled by human:ops (recorded)'); // the task log's line of the end
    // From the agent's first line, through what it printed after the periodic store.
    expect(text).toContain('scripted agent: 3000 steps');
    expect(text).toMatch(/step 1\/3000/);
    expect(text.indexOf('scripted agent: 3000 steps')).toBeLessThan(text.indexOf('step 1/3000'));
    expect(text).toContain(`operator says: ${message}`);
    expect(cast.startsWith(during.slice(0, during.indexOf('\n') + 1))).toBe(true); // the same recording, grown

    // The run's id stands for its terminal: the same cast, over HTTP and through tether play.
    const byRun = await recording(cp, runId);
    expect(byRun.status).toBe(200);
    expect(byRun.type).toMatch(/^application\/x-asciicast/);
    expect(byRun.text).toBe(cast);
    expect((await recording(cp, terminalId)).text).toBe(cast);
    const played = await runCli(cp, ['play', runId, '--speed', '100']);
    expect(played.stderr).toBe('');
    expect(played.exitCode).toBe(0);
    expect(played.stdout).toContain('scripted agent: 3000 steps');
    expect(played.stdout).toContain(`operator says: ${message}`);
    // The terminal put back; also out of the alternate screen when the cast ends in it (tmux's client was
    // closed with its terminal before it could leave it).
    const alt = [...text.matchAll(ALT_SCREEN)].at(-1)?.[1] === 'h';
    const restore = `\x1b[0m\x1b[?25h${alt ? '\x1b[?1049l' : ''}`;
    expect(played.stdout.slice(-restore.length - 40)).toBe(
      `${played.stdout.slice(-restore.length - 40, -restore.length)}${restore}`,
    );
  });

  it('records a shared terminal; operators and its watchers may play it, others are refused, none is 404', async () => {
    const { term } = await sharedTerminalPrinting(cp, 'shared-77', type);
    const ops = await eventually(
      () => recording(cp, term.terminal_id),
      (r) => r.status === 200 && output(r.text).includes('shared-77'),
      30_000,
    );
    expect(ops.type).toMatch(/^application\/x-asciicast/);
    // The share's owner and its invited participant may watch the terminal, so they may play it.
    for (const who of ['human:alice', 'human:bob']) {
      const r = await recording(await asActor(cp, who, 'member'), term.terminal_id);
      expect(r.status, who).toBe(200);
    }
    const mallory = await recording(await asActor(cp, 'human:mallory', 'member'), term.terminal_id);
    expect(mallory.status).toBe(403);
    expect(JSON.parse(mallory.text).error).toMatchObject({ code: 'FORBIDDEN', reason: 'watchers-play-recordings' });
    expect(JSON.parse(mallory.text).error.message).toMatch(/human:mallory .*may not recording\.play/);

    const none = await recording(cp, 'no-such-terminal');
    expect(none.status).toBe(404);
    expect(JSON.parse(none.text).error.message).toMatch(/no recording of terminal no-such-terminal/);
  });

  it('tether play prints the recording with its timing; --speed must be a positive number', async () => {
    const { term } = await sharedTerminalPrinting(cp, 'played-12', type);
    await eventually(
      () => recording(cp, term.terminal_id),
      (r) => r.status === 200 && output(r.text).includes('played-12'),
      30_000,
    );
    const played = await runCli(cp, ['play', term.terminal_id, '--speed', '100']);
    expect(played.stderr).toBe('');
    expect(played.exitCode).toBe(0);
    expect(played.stdout).toContain('played-12');
    expect(played.stdout.endsWith('\x1b[0m\x1b[?25h')).toBe(true); // the terminal put back
    for (const bad of ['0', '-2', 'fast']) {
      const r = await runCli(cp, ['play', term.terminal_id, '--speed', bad]);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr).toMatch(/INVALID_COMMAND: --speed must be a positive number/);
    }
    const missing = await runCli(cp, ['play', 'no-such-terminal']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND: no recording of terminal no-such-terminal/);
  });

  it('the player page plays a recording in Chromium, with seeking', async () => {
    const { term, session } = await sharedTerminalPrinting(cp, 'browser-31', type);
    // The recorder starts on share.started, asynchronously: the gap below counts from the recording's start.
    await eventually(
      () => recording(cp, term.terminal_id),
      (r) => r.status === 200 && output(r.text).includes('browser-31'),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    type(term.terminal_id, 'echo later-$((4*4))\r', session.session_id);
    await eventually(
      () => recording(cp, term.terminal_id),
      (r) => r.status === 200 && output(r.text).includes('later-16'),
      30_000,
    );
    const page = await chromium.browser.newPage();
    try {
      await signIn(page, cp);
      await page.goto(`${cp.url}/recordings/${term.terminal_id}`);
      await page.locator('body[data-state="ready"]').waitFor({ timeout: 20_000 });
      const screen = () => page.locator('.ap-term').first().innerText();
      // Seek to the end: the whole output is on the screen at once, without playing it through.
      await page.evaluate(async () => {
        const p = (globalThis as unknown as { tetherPlayer: { seek(t: number | string): Promise<void> } }).tetherPlayer;
        await p.seek('100%');
      });
      await eventually(screen, (s) => s.includes('browser-31') && s.includes('later-16'), 20_000);
      const at = await page.evaluate(() =>
        (globalThis as unknown as { tetherPlayer: { getCurrentTime(): number } }).tetherPlayer.getCurrentTime(),
      );
      expect(at).toBeGreaterThan(1);
      // A page for a terminal nobody recorded says so.
      await page.goto(`${cp.url}/recordings/no-such-terminal`);
      await page.locator('body[data-state="missing"]').waitFor({ timeout: 20_000 });
      expect(await page.locator('#notice').innerText()).toMatch(/no recording of terminal no-such-terminal/);
    } finally {
      await page.close();
    }
  });
});

describe('several tethers on one NATS', () => {
  it('one records a terminal: another leaves a fresh claim alone, takes a stale one over, and the first yields', async () => {
    const { term, session } = await sharedTerminalPrinting(cp, 'claimed-5', type);
    const id = term.terminal_id;
    const firstId = `test-${process.pid}`; // useControlPlane's installation
    const claims = await cp.ctx.store.kv(CLAIM_BUCKET);
    type Claim = { holder: string; at: number };
    const claim = async () => (await claims.get<Claim>(id))?.value.holder;
    await eventually(claim, (h) => h === firstId);
    const io = new NatsTerminalIO(cp.ctx.store.nc);
    const other = new Recorder({
      store: cp.ctx.store,
      host: cp.server.host,
      terminals: { follow: (t, onChunk) => followTerminal(io, t, onChunk) } as TerminalAccess,
      recordings: await ObjectStoreRecordingStore.open(cp.ctx.store.nc),
      log: silentLogger,
      ownerId: 'other-tether',
      dir: mkdtempSync(join(tmpdir(), 'tether-rec-other-')),
      maxBytes: 1 << 20,
      retentionMs: 86_400_000,
      flushMs: 1_000,
      sweepMs: 300,
    });
    await other.start();
    try {
      expect(other.recording()).not.toContain(id);
      expect(await claim()).toBe(firstId);
      // The first tether stalls (its claim goes stale): the other takes the terminal over at its next look.
      await eventually(
        async () => {
          const held = await claims.get<Claim>(id);
          if (held && held.value.holder === firstId)
            await claims.update(id, { holder: firstId, at: 0 }, held.revision).catch(() => undefined);
          return other.recording();
        },
        (r) => r.includes(id),
        20_000,
      );
      type(id, "printf 'taken-%s\\n' over\r", session.session_id);
      // The first finds at its next renewal (every 5 s) that the claim is not its own any more, and stops.
      await new Promise((r) => setTimeout(r, 6_000));
      expect(await claim()).toBe('other-tether');
      const cast = await eventually(
        () => recording(cp, id),
        (r) => r.status === 200 && output(r.text).includes('taken-over'),
        20_000,
      );
      expect(output(cast.text)).toContain('claimed-5'); // resumed from the first's stored copy
    } finally {
      await other.stop();
    }
  });
});

describe('retention in the object store', () => {
  it('deletes recordings last written longer ago than the retention, chunks and all', async () => {
    const recordings = await ObjectStoreRecordingStore.open(cp.ctx.store.nc);
    const id = uid('old');
    await recordings.put(id, Buffer.from('{"version":2,"width":80,"height":24,"timestamp":1}\n'));
    expect((await recordings.list()).map((r) => r.terminalId)).toContain(id);
    // Not yet past a minute's retention; past it two minutes from now.
    expect(await sweepRecordings(recordings, 60_000)).not.toContain(id);
    expect(await sweepRecordings(recordings, 60_000, Date.now() + 120_000)).toContain(id);
    expect(await recordings.get(id)).toBeUndefined();
    expect((await recordings.list()).map((r) => r.terminalId)).not.toContain(id);
  });
});

describe('the asciicast encoder', () => {
  it('keeps a UTF-8 character split across chunks whole, and cuts at the size bound with a last line saying so', () => {
    const enc = new CastEncoder(0, 600);
    const check = Buffer.from('ok ✓ done');
    const a = enc.encode(check.subarray(0, 4), 100); // "ok " and the first byte of ✓
    const b = enc.encode(check.subarray(4), 250);
    expect(JSON.parse(a)[2] + JSON.parse(b)[2]).toBe('ok ✓ done');
    expect(JSON.parse(b)[0]).toBe(0.25);
    let last = '';
    for (let i = 0; i < 50 && !enc.cut; i++) last = enc.encode(Buffer.from('x'.repeat(40)), 300 + i);
    expect(enc.cut).toBe(true);
    expect(JSON.parse(last)[2]).toMatch(/recording cut at 600 bytes/);
    expect(enc.bytes).toBeLessThanOrEqual(600);
    expect(enc.encode(Buffer.from('more'), 999)).toBe('');
  });
});

describe('recordings on the embedded store', () => {
  const procs: TetherProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill('SIGTERM');
  });

  const embeddedEnv = async (home: string) => ({
    TETHER_HOME: home,
    TETHER_NO_CHILD_NATS: '1',
    NATS_URL: '',
    TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
    TETHER_SHELL: TEST_SHELL,
    TETHER_SHARE_POLICY: policyFile(),
  });
  const tmuxKeys = (home: string, terminalId: string) => async (line: string) => {
    await execa('tmux', [
      '-S',
      join(home, 'terminals', 'tmux.sock'),
      'send-keys',
      '-t',
      `=${terminalId}:`,
      line,
      'Enter',
    ]);
  };

  it('a recording goes on after a kill -9 of tether: the restarted tether resumes it from its local file', async () => {
    const home = join(tmpdir(), uid('tether-rec-'));
    const env = await embeddedEnv(home);
    const first = await TetherProcess.start(env);
    procs.push(first);
    const { term } = await runningTerminal(first);
    expect((await createShare(first, 'human:alice', { terminal_id: term.terminal_id })).status).toBe(201);
    const keys = tmuxKeys(home, term.terminal_id);
    const local = join(home, 'recordings-in-progress', `${term.terminal_id}.cast`);
    await keys("printf 'before-%s\\n' crash");
    await eventually(
      () => (existsSync(local) ? readFileSync(local, 'utf8') : ''),
      (c) => c.includes('before-crash'),
      20_000,
    );
    await first.kill('SIGKILL');
    await keys("printf 'while-%s\\n' down");

    const second = await TetherProcess.start(env);
    procs.push(second);
    // Its start resumed the recording before it listened: what comes now is recorded again.
    await keys("printf 'after-%s\\n' restart");
    await keys('exit 0');
    const file = join(home, 'recordings', `${term.terminal_id}.cast`);
    const cast = await eventually(
      () => (existsSync(file) ? readFileSync(file, 'utf8') : ''),
      (c) => c.includes('after-restart'),
      30_000,
    );
    const { header, events } = parseCast(cast); // one header, then whole lines only
    expect(header.version).toBe(2);
    expect(events.every((e) => Array.isArray(e) && e.length === 3)).toBe(true);
    const text = events.map((e) => e[2]).join('');
    expect(text).toContain('before-crash');
    expect(text.indexOf('before-crash')).toBeLessThan(text.indexOf('after-restart'));
    const times = events.map((e) => e[0]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    await eventually(
      () => existsSync(local),
      (e) => !e,
      20_000,
    );
  });

  it('are files under $TETHER_HOME/recordings (0600), bounded in size; retention deletes old ones at start', async () => {
    const home = join(tmpdir(), uid('tether-rec-'));
    const dir = join(home, 'recordings');
    mkdirSync(dir, { recursive: true });
    // One recording from two days ago, one from a minute ago; retention is a day.
    const old = join(dir, 'old-terminal.cast');
    const fresh = join(dir, 'fresh-terminal.cast');
    for (const f of [old, fresh])
      writeFileSync(f, '{"version":2,"width":80,"height":24,"timestamp":1}\n', { mode: 0o600 });
    utimesSync(old, new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 2 * 86_400_000));
    const up = await TetherProcess.start({
      TETHER_HOME: home,
      TETHER_NO_CHILD_NATS: '1',
      NATS_URL: '',
      TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
      TETHER_SHELL: TEST_SHELL,
      TETHER_SHARE_POLICY: policyFile(),
      TETHER_RECORDING_MAX_BYTES: '8192',
      TETHER_RECORDING_RETENTION_MS: String(86_400_000),
    });
    procs.push(up);
    expect(await (await fetch(`${up.url}/healthz`)).json()).toMatchObject({ store: 'embedded' });
    await eventually(
      () => existsSync(old),
      (e) => !e,
    );
    expect(existsSync(fresh)).toBe(true);

    // Without NATS, input goes in through the share's writer path: the terminal's session types via tmux.
    const { term } = await runningTerminal(up);
    const created = await createShare(up, 'human:alice', { terminal_id: term.terminal_id, participant: 'bob' });
    expect(created.status).toBe(201);
    const file = join(dir, `${term.terminal_id}.cast`);
    const socket = join(home, 'terminals', 'tmux.sock');
    const keys = (line: string) =>
      execa('tmux', ['-S', socket, 'send-keys', '-t', `=${term.terminal_id}:`, line, 'Enter']);
    await keys("printf 'embedded-%s\\n' $((9*9))");
    await new Promise((r) => setTimeout(r, 1_000));
    await keys("head -c 200000 /dev/zero | tr '\\0' x; echo");
    await keys('exit 0');
    const cast = await eventually(
      () => (existsSync(file) ? readFileSync(file, 'utf8') : ''),
      (c) => c.includes('recording cut'),
      30_000,
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.byteLength(cast)).toBeLessThanOrEqual(8192);
    const { events } = parseCast(cast);
    expect(events.at(-1)![2]).toMatch(/recording cut at 8192 bytes \(TETHER_RECORDING_MAX_BYTES\)/);
    expect(events.map((e) => e[2]).join('')).toContain('embedded-81');
    // Played over HTTP like any other.
    const ops = await fetch(`${up.url}/v1/recordings/${term.terminal_id}`, { headers: bearer(up) });
    expect(ops.status).toBe(200);
    expect(await ops.text()).toBe(readFileSync(file, 'utf8'));
    expect((await as(up, 'human:mallory', 'GET', `/v1/recordings/${term.terminal_id}`)).status).toBe(403);
  });
});
