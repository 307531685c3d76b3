import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { registry } from '@tether/machines';
import { ActorHost, Dispatcher, JetStreamEventStore, connectNats, serveCommands } from '@tether/runtime';

// For the breakdown only: the command path of `tether up` WITHOUT its read-model work (no actors
// projection, no timer watch, no KV snapshots): an ActorHost behind serveCommands in its own process.
// Comparing it with `tether up` shows what the in-process projection costs each command.

const SELF = fileURLToPath(import.meta.url);

export async function startBareHost(natsUrl: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SELF], {
    env: { ...process.env, NATS_URL: natsUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error('bare host did not start in 30 s'));
    }, 30_000);
    proc.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bare host exited with ${code}`));
    });
  });
  return {
    pid: proc.pid!,
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
  const bus = serveCommands(nc, new Dispatcher(new ActorHost({ store, registry })));
  await nc.flush();
  process.stdout.write('ready\n');
  process.once('SIGTERM', async () => {
    await bus.stop();
    await nc.drain();
    process.exit(0);
  });
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) await serve();
