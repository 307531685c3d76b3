import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthorizationError,
  connect,
  PermissionViolationError,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { sendCommand } from '@tether/runtime';
import { api, gitRepo, NatsServer, TETHER_BIN, TetherProcess, uid } from '../harness/index.ts';

// infra/nats/roles.conf as docker compose runs it (single.conf and cluster-N.conf include it): tether
// runs as user "tether"; each other role may do only what its allow list names.
const NATS_CONFIGS = fileURLToPath(new URL('../../../infra/nats/', import.meta.url));
const ROLES_CONF = `${NATS_CONFIGS}roles.conf`;
const CLIENT_INBOX = '_INBOX.client';

type Role = 'tether' | 'client' | 'ops';
const password = () => `p${randomBytes(16).toString('hex')}`;
const passwords: Record<Role, string> = { tether: password(), client: password(), ops: password() };

let nats: NatsServer;
let tether: TetherProcess;
const connections: NatsConnection[] = [];

/** A connection as `user` (a client reads its replies on its own inbox prefix). */
async function as(user: Role | 'mallory', pass = passwords[user as Role]): Promise<NatsConnection> {
  const nc = await connect({
    servers: nats.url,
    user,
    pass,
    ...(user === 'client' ? { inboxPrefix: CLIENT_INBOX } : {}),
    maxReconnectAttempts: 0,
  });
  connections.push(nc);
  return nc;
}

/**
 * The permission violations the server reports on a connection. nats.js v3 keeps the connection open and
 * reports each as a status event `{type: 'error', error: PermissionViolationError}` (a denied publish
 * has no other sign); a denied subscription is also closed, its `closed` resolving to the error.
 */
function violations(nc: NatsConnection) {
  const seen: string[] = [];
  void (async () => {
    for await (const s of nc.status())
      if (s.type === 'error' && s.error instanceof PermissionViolationError)
        seen.push(`${s.error.operation} ${s.error.subject}`);
  })();
  return {
    /** Whether the server refused `operation` on `subject`: it sends -ERR before it answers the next PING. */
    async refused(operation: 'publish' | 'subscription', subject: string) {
      await nc.flush();
      await nc.flush();
      expect(seen).toContain(`${operation} ${subject}`);
    },
  };
}

/**
 * A denied subscription: closed by nats.js with the server's PermissionViolationError for that subject.
 * The server answers a SUB with -ERR before it answers the next PING, so after two round trips a
 * subscription still open was allowed.
 */
async function refusedSubscription(nc: NatsConnection, subject: string) {
  const sub = nc.subscribe(subject);
  const reason = await Promise.race([sub.closed, nc.flush().then(() => nc.flush().then(() => 'still open'))]);
  expect(reason).toBeInstanceOf(PermissionViolationError);
  expect(reason).toMatchObject({ operation: 'subscription', subject });
}

/** The first message on a subscription that `match` accepts. */
async function first(sub: Subscription, match: (m: Msg) => boolean): Promise<Msg> {
  for await (const m of sub) if (match(m)) return m;
  throw new Error(`the subscription to ${sub.getSubject()} ended before the message it waited for`);
}

beforeAll(async () => {
  nats = await NatsServer.start({
    config: ROLES_CONF,
    env: {
      TETHER_NATS_PASSWORD: passwords.tether,
      TETHER_NATS_CLIENT_PASSWORD: passwords.client,
      TETHER_NATS_OPS_PASSWORD: passwords.ops,
    },
  });
  tether = await TetherProcess.start({
    NATS_URL: nats.url,
    TETHER_NATS_USER: 'tether',
    TETHER_NATS_PASSWORD: passwords.tether,
    TETHER_LOG_LEVEL: 'debug',
    TETHER_WORKSPACES: `ws1=${await gitRepo()}`,
  });
});

afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close()));
  await tether?.kill('SIGTERM');
  await nats?.dispose();
});

describe('NATS with a user per role (infra/nats/roles.conf)', () => {
  it('runs tether as user "tether", with no password in its logs or in `tether config`', async () => {
    const id = uid('lease');
    const created = await api(tether, 'POST', '/v1/commands/lease/create', {
      entityId: id,
      data: { holder: 'ann' },
    });
    expect(created.status).toBe(201);
    expect(tether.logs).toContain('"natsUser":"tether"');
    const config = await execa(process.execPath, [TETHER_BIN, 'config', '--json'], {
      env: { NATS_URL: nats.url, TETHER_NATS_USER: 'tether', TETHER_NATS_PASSWORD: passwords.tether },
    });
    const shown = (JSON.parse(config.stdout) as { settings: { name: string; value: string }[] }).settings;
    expect(shown.find((r) => r.name === 'TETHER_NATS_PASSWORD')?.value).toBe('***');
    for (const output of [tether.logs, config.stdout, config.stderr]) expect(output).not.toContain(passwords.tether);
  });

  it('lets a client send a command and get the reply on its own inbox', async () => {
    const client = await as('client');
    const reply = await sendCommand(
      client,
      'lease',
      'create',
      { entityId: uid('lease'), data: { holder: 'ann' } },
      { credential: tether.token },
    );
    // NATS let the request through and the reply back, and tether took the command with its credential.
    expect(reply).toMatchObject({ ok: true });
  });

  it("refuses a client's replies on inboxes other than its own prefix", async () => {
    const nc = await connect({ servers: nats.url, user: 'client', pass: passwords.client, maxReconnectAttempts: 0 });
    connections.push(nc);
    const err = await nc.request('tether.cmd.lease.create', '{}', { timeout: 15_000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const cause = (err as Error).cause ?? err;
    expect(cause).toBeInstanceOf(PermissionViolationError);
    expect(cause).toMatchObject({ operation: 'subscription', subject: expect.stringMatching(/^_INBOX\.[^.]+\.\*$/) });
  });

  it('keeps a client from serving commands, reading events, audit, JetStream or terminal I/O', async () => {
    const client = await as('client');
    for (const subject of ['tether.cmd.>', 'tether.evt.>', 'tether.audit.>', 'tether.term.>', '$JS.API.>', '_INBOX.>'])
      await refusedSubscription(client, subject);
  });

  it('keeps a client from forging events or audit records, calling the JetStream API or typing into a terminal', async () => {
    const client = await as('client');
    const reports = violations(client);
    const tetherSide = await as('tether');
    const seen = tetherSide.subscribe('tether.>');
    await tetherSide.flush();
    const subjects = [
      'tether.term.t1.in',
      'tether.evt.lease.forged',
      'tether.audit.lease.create',
      '$JS.API.STREAM.INFO.TETHER_EVENTS',
    ];
    for (const subject of subjects) client.publish(subject, '{"forged":true}');
    for (const subject of subjects) await reports.refused('publish', subject);
    // The server dropped each refused message: none reaches tether's user, which reads and writes terminal
    // I/O itself (its own message, sent after the refusals, arrives).
    const forged: string[] = [];
    tetherSide.publish('tether.term.t1.out', 'marker');
    await first(seen, (m) => {
      if (m.string().includes('forged')) forged.push(m.subject);
      return m.subject === 'tether.term.t1.out' && m.string() === 'marker';
    });
    expect(forged).toEqual([]);
  });

  it('lets ops follow the audit trail, and nothing else', async () => {
    const ops = await as('ops');
    const reports = violations(ops);
    const trail = ops.subscribe('tether.audit.>');
    await ops.flush();
    // Lanes are audited (leases are not).
    const lane = await api<{ lane_id: string }>(tether, 'POST', '/v1/workspaces/ws1/lanes', {
      project_context_id: 'p',
      display_name: 'audited',
    });
    expect(lane.status).toBe(201);
    const id = lane.body.lane_id;
    const record = await first(
      trail,
      (m) => m.subject === 'tether.audit.lane.create' && m.json<{ entityId: string }>().entityId === id,
    );
    expect(record.json()).toMatchObject({ action: 'lane.create', entityId: id });

    ops.publish('tether.cmd.lease.create', JSON.stringify({ entityId: uid('lease'), data: { holder: 'ops' } }));
    await reports.refused('publish', 'tether.cmd.lease.create');
    for (const subject of ['tether.term.>', 'tether.cmd.>', 'tether.evt.>', '_INBOX.>'])
      await refusedSubscription(ops, subject);
  });

  it('refuses an unknown user, a wrong password and no user at all', async () => {
    await expect(as('mallory', 'x')).rejects.toBeInstanceOf(AuthorizationError);
    await expect(as('client', passwords.ops)).rejects.toBeInstanceOf(AuthorizationError);
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0 })).rejects.toBeInstanceOf(AuthorizationError);
  });

  it('stops `tether up` with a wrong password, naming the settings and not the password', async () => {
    const wrong = password();
    const err = await TetherProcess.start({
      NATS_URL: nats.url,
      TETHER_NATS_USER: 'tether',
      TETHER_NATS_PASSWORD: wrong,
    })
      .then(async (t) => {
        await t.kill();
        return undefined;
      })
      .catch((e: Error) => e);
    expect(err, 'tether up started with a wrong password').toBeInstanceOf(Error);
    expect(err!.message).not.toContain(wrong);
    // `tether up --json` prints the error as JSON on stderr.
    const printed = JSON.parse(err!.message.slice(err!.message.indexOf('{'))) as { error: { message: string } };
    expect(printed.error).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(
        /^NATS at \S+ refused user "tether" \(Authorization Violation\); set TETHER_NATS_USER/,
      ),
    });
  });

  it('is part of every server config docker compose runs, which nats-server refuses while a password is unset', async () => {
    const env = {
      TETHER_NATS_PASSWORD: password(),
      TETHER_NATS_CLIENT_PASSWORD: password(),
      TETHER_NATS_OPS_PASSWORD: password(),
    };
    for (const file of ['single.conf', 'cluster-1.conf', 'cluster-2.conf', 'cluster-3.conf']) {
      const check = (extra: Record<string, string>) =>
        execa(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', `${NATS_CONFIGS}${file}`, '-t'], {
          env: { PATH: process.env.PATH, ...extra },
          extendEnv: false,
          reject: false,
        });
      expect((await check(env)).exitCode, file).toBe(0);
      const { TETHER_NATS_OPS_PASSWORD: _, ...withoutOps } = env;
      const without = await check(withoutOps);
      expect(without.exitCode, file).not.toBe(0);
      expect(without.stderr, file).toContain("variable reference for 'TETHER_NATS_OPS_PASSWORD'");
    }
  });
});
