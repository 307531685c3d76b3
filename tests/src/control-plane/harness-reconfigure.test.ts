import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { HarnessStatusView } from '@tether/contracts';
import { freePort } from '@tether/runtime';
import { bearer, TetherProcess, eventually, useNats, type Tether } from '../harness/index.ts';

const ctx = useNats();
const procs: TetherProcess[] = [];
afterAll(async () => Promise.all(procs.map((p) => p.kill())));

describe('harness settings across restarts', () => {
  it('a restart with another harness url reconfigures the route instead of keeping the old one', async () => {
    const first = await TetherProcess.start({ NATS_URL: ctx.nats.url });
    procs.push(first);
    const status = async (t: Tether) =>
      HarnessStatusView.parse(
        await (await fetch(`${t.url}/v1/harness/cliproxy/status`, { headers: bearer(t) })).json(),
      );
    expect(
      await eventually(
        () => status(first),
        (s) => s.status === 'unavailable',
      ),
    ).toMatchObject({ transport: 'native_openai' });
    await first.kill('SIGTERM');

    const port = await freePort();
    const harness = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => harness.listen(port, '127.0.0.1', r));
    try {
      const second = await TetherProcess.start({
        NATS_URL: ctx.nats.url,
        TETHER_HARNESS_URL: `http://127.0.0.1:${port}`,
        TETHER_LOG_LEVEL: 'warn',
      });
      procs.push(second);
      expect(
        await eventually(
          () => status(second),
          (s) => s.status === 'healthy',
        ),
      ).toMatchObject({ transport: 'cliproxy_harness' });
      expect(second.logs).toMatch(/harness settings changed; reconfiguring/);
      const types: string[] = [];
      for await (const e of ctx.store.readAll({ filter: 'tether.evt.harness.*' })) types.push(e.event.type);
      expect(types).toEqual(['harness.configure', 'harness.reconfigure', 'harness.status.changed']);
    } finally {
      await new Promise((r) => harness.close(r));
    }
  });
});
