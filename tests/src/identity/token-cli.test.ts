import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import type { CredentialCreated, CredentialView, EventEnvelope } from '@tether/contracts';
import { hashSecret, parseToken } from '@tether/runtime';
import { TETHER_BIN, TetherProcess, api, gitRepo, useNats } from '../harness/index.ts';

// `tether token create|list|revoke` against a real `tether up`, with the real `tether` bin: the owner's
// credential in $TETHER_HOME is used without a flag, a token is printed once, a viewer's token is
// refused with the rule, a revoked or garbage token is UNAUTHENTICATED.

const ctx = useNats();
let up: TetherProcess;
let env: Record<string, string>;
beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'tether-tokenhome-'));
  env = { NATS_URL: ctx.nats.url, TETHER_HOME: home, TETHER_WORKSPACES: `ws1=${await gitRepo()}` };
  up = await TetherProcess.start(env);
  env.TETHER_URL = up.url;
  env.TETHER_WORKSPACE = 'ws1';
});
afterAll(async () => {
  await execa('tmux', ['-S', join(env.TETHER_HOME!, 'terminals', 'tmux.sock'), 'kill-server'], { reject: false });
  await up?.kill();
});

/** The real bin with this tether's environment; TETHER_TOKEN only when given (else the owner's file). */
const tether = async (args: string[], extra: Record<string, string> = {}) => {
  const { TETHER_TOKEN: _inherited, ...base } = process.env;
  const r = await execa(process.execPath, [TETHER_BIN, ...args], {
    env: { ...base, TETHER_LOG_LEVEL: 'warn', ...env, ...extra },
    extendEnv: false,
    reject: false,
    timeout: 30_000, // far above what a command takes: a hang shows as timedOut
  });
  return { ...r, json: <T>() => JSON.parse(r.stdout) as T, error: () => JSON.parse(r.stderr).error };
};

let bob: CredentialCreated;

describe('tether token', () => {
  it("works with no flag: the owner's credential is in $TETHER_HOME/credential, mode 0600", async () => {
    const file = join(env.TETHER_HOME!, 'credential');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(parseToken(token)).toBeDefined();
    const list = await tether(['token', 'list', '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    const owner = list
      .json<{ items: CredentialView[] }>()
      .items.find((c) => c.credential_id === parseToken(token)!.credentialId);
    expect(owner).toMatchObject({ role: 'operator', state: 'active', label: 'owner', expires_at: null });
    expect(list.stdout).not.toContain('tth_');
    expect((await tether(['lane', 'list'])).exitCode).toBe(0);
  });

  it('token create prints the token once; list shows the credential without it; only its hash is kept', async () => {
    const created = await tether([
      'token',
      'create',
      '--actor',
      'human:bob',
      '--role',
      'viewer',
      '--ttl',
      '1d',
      '--json',
    ]);
    expect(created.exitCode, created.stderr).toBe(0);
    bob = created.json<CredentialCreated>();
    expect(bob).toMatchObject({ actor: 'human:bob', role: 'viewer', purpose: 'token', state: 'active' });
    const parsed = parseToken(bob.token!)!;
    expect(parsed.credentialId).toBe(bob.credential_id);
    const ttl = Date.parse(bob.expires_at!) - Date.parse(bob.issued_at);
    expect(Math.abs(ttl - 86_400_000)).toBeLessThan(60_000);

    const human = await tether(['token', 'create', '--actor', 'ai:codex-1', '--role', 'agent']);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/token \(shown once; give it to ai:codex-1 as TETHER_TOKEN\):\n\s+tth_\S+/);

    const list = await tether(['token', 'list']);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`${bob.credential_id.slice(0, 8)}\\s+active\\s+viewer\\s+token\\s+human:bob`),
    );
    expect(list.stdout).toContain('ai:codex-1');
    expect(list.stdout).not.toContain('tth_');
    expect((await tether(['token', 'list', '--json'])).stdout).not.toContain(parsed.secret);

    // The log keeps the hash of the secret, never the secret; the API shows neither.
    const stored = await ctx.store.readEntity('credential', bob.credential_id);
    expect(JSON.stringify(stored)).not.toContain(parsed.secret);
    expect(stored[0]!.event.data).toMatchObject({ hash: hashSecret(parsed.secret) });
    const events = await api<EventEnvelope[]>(up, 'GET', `/v1/entities/credential/${bob.credential_id}/events`);
    expect(events.body[0]!.data).toMatchObject({ hash: '[redacted]' });
  });

  it("with TETHER_TOKEN=<a viewer's> it reads, and a change is FORBIDDEN with the rule", async () => {
    const asBob = { TETHER_TOKEN: bob.token! };
    const reads = await tether(['lane', 'list'], asBob);
    expect(reads.exitCode, reads.stderr).toBe(0);
    const refused = await tether(['lane', 'create', '--name', 'nope', '--project', 'p', '--json'], asBob);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.error()).toMatchObject({ code: 'FORBIDDEN', reason: 'viewers-watch-only' });
    const human = await tether(['lane', 'create', '--name', 'nope', '--project', 'p'], asBob);
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toMatch(
      /^error FORBIDDEN: human:bob \(viewer\) may not lane\.create \(rule viewers-watch-only\): a viewer sends no command/,
    );
    // Nothing was made: the owner sees no lane named "nope".
    expect((await tether(['lane', 'list'])).stdout).not.toContain('nope');
    const mint = await tether(['token', 'create', '--actor', 'human:bob', '--role', 'operator', '--json'], asBob);
    expect(mint.error()).toMatchObject({ code: 'FORBIDDEN', reason: 'viewers-watch-only' });
  });

  it("tether token revoke <id>: the holder's very next command is UNAUTHENTICATED", async () => {
    const revoked = await tether(['token', 'revoke', bob.credential_id.slice(0, 8), '--reason', 'left']); // a prefix, as printed
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`${bob.credential_id.slice(0, 8)}\\s+revoked\\s+viewer`));
    expect(revoked.stdout).toContain('(left)');
    const asBob = { TETHER_TOKEN: bob.token! };
    const after = await tether(['lane', 'list', '--json'], asBob);
    expect(after.exitCode).not.toBe(0);
    expect(after.error()).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_REVOKED' });
    const human = await tether(['lane', 'list'], asBob);
    expect(human.stderr).toMatch(new RegExp(`^error UNAUTHENTICATED: credential ${bob.credential_id} was revoked`));
    expect((await tether(['token', 'list', '--json'])).json<{ items: CredentialView[] }>().items).toContainEqual(
      expect.objectContaining({ credential_id: bob.credential_id, state: 'revoked', reason: 'left' }),
    );
  });

  it('TETHER_TOKEN=garbage, or no credential at all, is a clear UNAUTHENTICATED and exit code ≠ 0', async () => {
    const garbage = await tether(['lane', 'list'], { TETHER_TOKEN: 'garbage' });
    expect(garbage.exitCode).not.toBe(0);
    expect(garbage.stderr).toMatch(/^error UNAUTHENTICATED: .*not valid.*tether token create/);
    expect(garbage.stdout).toBe('');

    // Another home, without the owner's file and without TETHER_TOKEN: the CLI says where to get one.
    const empty = mkdtempSync(join(tmpdir(), 'tether-nohome-'));
    const none = await tether(['lane', 'list'], { TETHER_HOME: empty });
    expect(none.exitCode).not.toBe(0);
    expect(none.stderr).toMatch(/^error UNAUTHENTICATED: no credential: .*credential does not exist.*TETHER_TOKEN/);
  });

  it('a member creates no credential (operators-issue-credentials)', async () => {
    const made = await tether(['token', 'create', '--actor', 'human:mia', '--role', 'member', '--json']);
    const mia = made.json<CredentialCreated>();
    const r = await tether(['token', 'create', '--actor', 'human:mia', '--role', 'operator', '--json'], {
      TETHER_TOKEN: mia.token!,
    });
    expect(r.exitCode).toBe(1);
    expect(r.error()).toMatchObject({ code: 'FORBIDDEN', reason: 'operators-issue-credentials' });
  });
});
