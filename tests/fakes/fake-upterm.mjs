#!/usr/bin/env node
// FAKE upterm, a test double: NOT the real upterm (which is not installable here). It implements only
// the CLI surface tether's UptermAdapter uses, and contacts no server:
//   fake-upterm host [--accept] [--read-only|-r] [--server URL] [...] -- CMD ARGS...
//       long-lived host listening on an admin socket; runs CMD once with UPTERM_ADMIN_SOCKET set, as
//       upterm does, but without a pty (so a `tmux attach` in CMD fails and is only logged)
//   fake-upterm session current --admin-socket PATH
//       prints an upterm-like table, with a "Read-only:" line showing whether --read-only was given
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const say = (msg) => console.log(`FAKE upterm (test double, not the real upterm): ${msg}`);

if (argv[0] === 'version' || argv[0] === '--version') {
  console.log('Upterm version v0.0.0-FAKE');
} else if (argv[0] === 'host') {
  host();
} else if (argv[0] === 'session' && (argv[1] === 'current' || argv[1] === 'c')) {
  const i = argv.indexOf('--admin-socket');
  current(i >= 0 ? argv[i + 1] : process.env.UPTERM_ADMIN_SOCKET);
} else {
  console.error(`FAKE upterm: not implemented: ${argv.join(' ')}`);
  process.exit(2);
}

function host() {
  const dash = argv.indexOf('--');
  const flags = dash >= 0 ? argv.slice(1, dash) : argv.slice(1);
  const command = dash >= 0 ? argv.slice(dash + 1) : ['sh'];
  const readOnly = flags.includes('--read-only') || flags.includes('-r');
  const si = flags.indexOf('--server');
  const server = si >= 0 ? flags[si + 1] : 'ssh://uptermd.upterm.dev:22';
  const id = `FAKE${randomBytes(5).toString('hex').toUpperCase()}`;
  const token = `${readOnly ? 'ro' : 'rw'}-${id.toLowerCase()}`;
  const table = [
    `=== ${id}`,
    'Note:                   FAKE upterm (test double, not the real upterm)',
    `Command:                ${command.join(' ')}`,
    'Force Command:          n/a',
    `Host:                   ${server}`,
    `Read-only:              ${readOnly}`,
    `Accept:                 ${flags.includes('--accept')}`,
    '',
    `➤ SSH Session:          ssh ${token}@fake-upterm.invalid`,
    '',
  ].join('\n');
  const admin = join(process.cwd(), `fake-upterm-${process.pid}.sock`); // real upterm uses ~/.upterm; the cwd keeps tests tidy
  rmSync(admin, { force: true });
  const srv = createServer((c) => {
    c.on('error', () => {});
    c.once('data', () => c.end(table));
  });
  srv.listen(admin, () => {
    say(`hosting on ${server} (nothing contacted), read-only=${readOnly}, admin socket ${admin}`);
    const child = spawn(command[0], command.slice(1), {
      env: { ...process.env, UPTERM_ADMIN_SOCKET: admin },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', (err) => say(`hosted command could not start: ${err.message}`));
    child.on('exit', (code) =>
      say(`hosted command exited (${code}); the fake gives it no pty, so a tmux attach cannot work here`),
    );
  });
  const quit = () => {
    srv.close();
    rmSync(admin, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  process.on('SIGHUP', quit);
}

function current(admin) {
  if (!admin) {
    console.error('FAKE upterm: not in upterm session (UPTERM_ADMIN_SOCKET not set)');
    process.exit(1);
  }
  const c = createConnection(admin);
  let out = '';
  c.on('connect', () => c.write('current\n'));
  c.on('data', (d) => (out += d));
  c.on('end', () => {
    process.stdout.write(out);
    process.exit(out ? 0 : 1);
  });
  c.on('error', (err) => {
    console.error(`FAKE upterm: failed to get session: ${err.code} on ${admin}`);
    process.exit(1);
  });
}
