import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { registry } from '@tether/machines';
import type { Principal } from '@tether/contracts';
import {
  ActorHost,
  Authenticator,
  Dispatcher,
  JetStreamEventStore,
  connectNats,
  mintToken,
  serveCommands,
} from '@tether/runtime';

// For the breakdown only: the command path of `tether up` WITHOUT its read-model work (no actors
// projection, no timer watch, no KV snapshots): an ActorHost behind serveCommands in its own process.
// Comparing it with `tether up` shows what the in-process projection costs each command.

const SELF = fileURLToPath(import.meta.url);

/**
 * `auth`: commands are checked as `tether up` checks them (a real credential, verified per command);
 * without it, every command is taken as one fixed principal: authOverheadPct compares the two.
 */
export async function startBareHost(
  natsUrl: string,
  opts: { auth: boolean },
): Promise<{ pid: number; credential: string; stop(): Promise<void> }> {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SELF], {
    env: { ...process.env, NATS_URL: natsUrl, BENCH_AUTH: opts.auth ? '1' : '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const credential = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error('bare host did not start in 30 s'));
    }, 30_000);
    proc.stdout!.once('data', (line: Buffer) => {
      clearTimeout(timer);
      resolve(line.toString().trim().split(' ')[1] ?? '');
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bare host exited with ${code}`));
    });
  });
  return {
    pid: proc.pid!,
    credential,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function serve() {
  const nc = await connectNats(process.env.NATS_URL!, { name: 'bench-bare-host' });
  const store = await JetStreamEventStore.open(nc);
  const host = new ActorHost({ store, registry });
  const { credential, authenticate } = process.env.BENCH_AUTH ? await withCredential(host) : withoutCredential();
  const bus = serveCommands(nc, new Dispatcher(host), { authenticate });
  await nc.flush();
  process.stdout.write(`ready ${credential}\n`);
  process.once('SIGTERM', async () => {
    await bus.stop();
    await nc.drain();
    process.exit(0);
  });
}

/** The credential a bench host takes without checking: the baseline of authOverheadPct. */
/** (As long as a token: the same bytes cross the network either way.) */
export const UNCHECKED = `unchecked-${'x'.repeat(77)}`;

const BENCH_PRINCIPAL: Principal = {
  actor: { kind: 'service', id: 'bench' },
  role: 'operator',
  credentialId: '00000000-0000-4000-8000-0000000000be',
};

/** A real operator credential, verified on every command as `tether up` does. */
async function withCredential(host: ActorHost) {
  const id = randomUUID(); // a fresh credential per run: the bench's stream may hold earlier ones
  const { token, hash } = mintToken(id);
  await host.execute({
    id: `issue-${id}`,
    entity: 'credential',
    verb: 'issue',
    entityId: id,
    actor: { kind: 'system', id: 'bench' },
    correlationId: id,
    causationId: id,
    data: { actor: BENCH_PRINCIPAL.actor, role: 'operator', purpose: 'token', hash },
  });
  const authenticator = new Authenticator(host);
  return {
    credential: token,
    // This bench host alone also takes UNCHECKED, so one process serves both sides of authOverheadPct.
    authenticate: (t: string | undefined) =>
      t === UNCHECKED ? Promise.resolve(BENCH_PRINCIPAL) : authenticator.verify(t),
  };
}

/** No check: every command is the bench's principal (the baseline of authOverheadPct). */
function withoutCredential() {
  return { credential: 'none', authenticate: async () => BENCH_PRINCIPAL };
}

// Last: the consts above are initialised before the child serves.
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) await serve();
