#!/usr/bin/env node
// FAKE tmate, a test double: NOT the real tmate. It implements only the CLI surface tether's TmateAdapter
// uses, and contacts no relay:
//   fake-tmate -S SOCK -f CONF -F new-session -s NAME CMD   long-lived "server" listening on SOCK
//   fake-tmate -S SOCK wait tmate-ready                      returns once the server is ready
//   fake-tmate -S SOCK wait-for [-S] CHANNEL                 tmux wait-for (a signal with no waiter is kept)
//   fake-tmate -S SOCK display -p FORMAT                     expands #{...} like tmate does
// The server answers its clients over the unix socket, so a SIGSTOPped server makes clients hang
// like the real one. It does not run CMD (it only logs it). Env FAKE_TMATE_READY_MS delays readiness
// (default 100; negative = never ready).
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

const argv = process.argv.slice(2);
const opt = (flag) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};
const sock = opt('-S');
const say = (msg) => console.log(`FAKE tmate (test double, not the real tmate): ${msg}`);

if (argv[0] === '-V') {
  console.log('tmate 0.0.0-FAKE');
} else if (!sock) {
  console.error('FAKE tmate: only -S SOCK invocations are implemented');
  process.exit(2);
} else if (argv.includes('new-session')) {
  serve();
} else if (argv.includes('wait') || argv.includes('wait-for')) {
  const rest = argv.slice(argv.findIndex((a) => a === 'wait' || a === 'wait-for') + 1);
  request(rest[0] === '-S' ? { cmd: 'signal', channel: rest[1] } : { cmd: 'wait', channel: rest[0] });
} else if (argv.includes('display')) {
  request({ cmd: 'display', format: argv[argv.length - 1] });
} else {
  console.error(`FAKE tmate: not implemented: ${argv.join(' ')}`);
  process.exit(2);
}

function serve() {
  const conf = opt('-f') ? readFileSync(opt('-f'), 'utf8') : '';
  const setting = (name) => conf.match(new RegExp(`^set -g ${name} '?([^'\\n]*)'?`, 'm'))?.[1];
  const name = opt('-s') ?? '0';
  const rw = `rw-FAKE-${randomBytes(6).toString('hex')}`;
  const ro = `ro-FAKE-${randomBytes(6).toString('hex')}`;
  const host = 'fake-tmate.invalid';
  const values = {
    session_name: name,
    tmate_ssh: `ssh ${rw}@${host}`,
    tmate_ssh_ro: `ssh ${ro}@${host}`,
    tmate_web: `https://${host}/t/${rw}`,
    tmate_web_ro: `https://${host}/t/${ro}`,
  };
  let ready = false;
  const waiting = new Map(); // channel -> replies
  const woken = new Set();
  const wake = (channel) => {
    const replies = waiting.get(channel) ?? [];
    waiting.delete(channel);
    if (replies.length === 0 && channel !== 'tmate-ready') woken.add(channel);
    for (const reply of replies) reply();
  };
  const delay = Number(process.env.FAKE_TMATE_READY_MS ?? 100);
  if (delay >= 0) {
    setTimeout(() => {
      ready = true;
      say(
        `ready (relay setting was ${setting('tmate-server-host')}:${setting('tmate-server-port')}; nothing was contacted)`,
      );
      wake('tmate-ready');
    }, delay);
  }
  const expand = (format) =>
    format.replace(/#\{([a-z_]+)\}/g, (_, k) => (k.startsWith('tmate_') && !ready ? '' : (values[k] ?? '')));
  rmSync(sock, { force: true });
  const server = createServer((c) => {
    let buf = '';
    c.on('error', () => {});
    c.on('data', function onData(d) {
      buf += d;
      if (!buf.includes('\n')) return;
      c.off('data', onData); // one request per connection
      const req = JSON.parse(buf.slice(0, buf.indexOf('\n')));
      const answer = (out) => c.end(`${JSON.stringify({ ok: true, out })}\n`);
      if (req.cmd === 'display') answer(expand(req.format));
      else if (req.cmd === 'signal') {
        wake(req.channel);
        answer('');
      } else if (req.cmd === 'wait' && ((req.channel === 'tmate-ready' && ready) || woken.delete(req.channel)))
        answer('');
      else if (req.cmd === 'wait') waiting.set(req.channel, [...(waiting.get(req.channel) ?? []), () => answer('')]);
      else c.end(`${JSON.stringify({ ok: false, out: `unknown command ${req.cmd}` })}\n`);
    });
  });
  server.listen(sock, () =>
    say(`server ${name} listening on ${sock}; would run in its pane: ${argv[argv.length - 1]}`),
  );
  const quit = () => {
    server.close();
    rmSync(sock, { force: true });
    say('Session closed');
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  process.on('SIGHUP', quit);
}

function request(req) {
  const c = createConnection(sock);
  let buf = '';
  c.on('connect', () => c.write(`${JSON.stringify(req)}\n`));
  c.on('data', (d) => (buf += d));
  c.on('end', () => {
    const res = JSON.parse(buf || '{"ok":false,"out":"server closed the connection"}');
    (res.ok ? process.stdout : process.stderr).write(res.out ? `${res.out}\n` : '');
    process.exit(res.ok ? 0 : 1);
  });
  c.on('error', (err) => {
    console.error(`FAKE tmate: no server running on ${sock} (${err.code})`);
    process.exit(1);
  });
}
