import { describe, expect, it } from 'vitest';
import { ACTORS_BUCKET } from '@tether/contracts';
import { registry } from '@tether/machines';
import { ActorHost, TimerService, toRejection, type ProjectedDoc, type SavedActor } from '@tether/runtime';
import { ProjectionRunner, actorsProjection, consumerName, readModelContents } from '@tether/projector';
import { cmd, eventually, uid, useNats } from '../harness/index.ts';

const ctx = useNats();

async function actorDoc(key: string) {
  return (await (await ctx.store.kv(ACTORS_BUCKET)).get<ProjectedDoc<SavedActor>>(key))?.value;
}

describe('projection runner', () => {
  it('keeps the actors read model, applies an event twice without change, and rebuilds to an identical result', async () => {
    const host = new ActorHost({ store: ctx.store, registry });
    const runner = new ProjectionRunner(ctx.store, actorsProjection(registry));
    await runner.start();
    const ids = [uid('p'), uid('p')];
    for (const id of ids) {
      await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
      await host.execute(cmd('lease', 'renew', id));
    }
    await host.execute(cmd('lease', 'release', ids[1], { reason: 'done' }));
    await runner.waitCaughtUp();
    expect(await runner.lag()).toBe(0);
    const doc = await actorDoc(`lease.${ids[1]}`);
    expect(doc?.value).toMatchObject({
      version: 3,
      value: 'released',
      context: { renewals: 1, releaseReason: 'done' },
    });

    // Redelivery of an applied event changes nothing.
    const before = await readModelContents(ctx.store, ACTORS_BUCKET);
    for (const e of await ctx.store.readEntity('lease', ids[0]!)) await runner.handle(e);
    expect(await readModelContents(ctx.store, ACTORS_BUCKET)).toEqual(before);

    await runner.rebuild();
    expect(await readModelContents(ctx.store, ACTORS_BUCKET)).toEqual(before);
    await runner.stop();
  });

  it('a running runner replays into a read model another process rebuilt, though its cache says applied', async () => {
    const host = new ActorHost({ store: ctx.store, registry });
    const runner = new ProjectionRunner(ctx.store, actorsProjection(registry));
    await runner.start();
    const id = uid('rb');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
    await host.execute(cmd('lease', 'renew', id));
    await runner.waitCaughtUp();
    const before = await readModelContents(ctx.store, ACTORS_BUCKET);
    // What `tether projections rebuild` does from another process: the consumer and the bucket go.
    await ctx.store.deleteSubscription(consumerName('actors'));
    await ctx.store.destroyKv(ACTORS_BUCKET);
    // The running one makes the consumer again and replays every event with its cache still warm.
    await eventually(
      () => readModelContents(ctx.store, ACTORS_BUCKET),
      (now) => JSON.stringify(now) === JSON.stringify(before),
    );
    await runner.stop();
  });

  it('two runners sharing one consumer still apply every entity in order', async () => {
    const host = new ActorHost({ store: ctx.store, registry });
    const [r1, r2] = [
      new ProjectionRunner(ctx.store, actorsProjection(registry)),
      new ProjectionRunner(ctx.store, actorsProjection(registry)),
    ];
    await Promise.all([r1.start(), r2.start()]);
    const id = uid('pp');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 600_000 }));
    await Promise.all(Array.from({ length: 40 }, () => host.execute(cmd('lease', 'renew', id))));
    const doc = await eventually(
      () => actorDoc(`lease.${id}`),
      (d) => d?.value.version === 41,
    );
    expect(doc?.value.context).toMatchObject({ renewals: 40 });
    await Promise.all([r1.stop(), r2.stop()]);
  });
});

describe('durable timers', () => {
  const send = (host: ActorHost) => (c: Parameters<ActorHost['execute']>[0]) => host.execute(c).catch(toRejection);

  /** What `tether up` runs for deadlines: a host, the actors projection and the timer service. */
  async function timerRig() {
    const host = new ActorHost({ store: ctx.store, registry });
    const runner = new ProjectionRunner(ctx.store, actorsProjection(registry));
    await runner.start();
    const timers = new TimerService({ store: ctx.store, registry, send: send(host) });
    await timers.start();
    return { host, stop: async () => Promise.all([timers.stop(), runner.stop()]) };
  }

  it('fires a deadline from actor context when it passes', async () => {
    const { host, stop } = await timerRig();
    const id = uid('t');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 1_000 }));
    const doc = await eventually(
      () => actorDoc(`lease.${id}`),
      (d) => d?.value.value === 'expired',
      10_000,
    );
    const events = await ctx.store.readEntity('lease', id);
    expect(events.map((e) => e.event.type)).toEqual(['lease.create', 'lease.expire']);
    expect(events[1]!.event.actor).toEqual({ kind: 'system', id: 'timer' });
    expect(Date.parse(events[1]!.event.at)).toBeGreaterThanOrEqual(
      Date.parse((doc!.value.context as { expiresAt: string }).expiresAt),
    );
    await stop();
  });

  it('a renewed deadline moves; the old one does not fire', async () => {
    const { host, stop } = await timerRig();
    const id = uid('t');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 1_500 }));
    await new Promise((r) => setTimeout(r, 500));
    await host.execute(cmd('lease', 'renew', id, { ttlMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await host.state('lease', id))?.value).toBe('held');
    await stop();
  });

  it('a deadline that passed while tether was down fires at start, once even with two timer services', async () => {
    const host = new ActorHost({ store: ctx.store, registry });
    const runner = new ProjectionRunner(ctx.store, actorsProjection(registry));
    await runner.start();
    const id = uid('down');
    await host.execute(cmd('lease', 'create', id, { holder: 'ann', ttlMs: 1_000 }));
    await eventually(
      () => actorDoc(`lease.${id}`),
      (d) => d?.value.version === 1,
    );
    await new Promise((r) => setTimeout(r, 1_300)); // "down": no timer service while the deadline passes
    expect((await host.state('lease', id))?.value).toBe('held');
    const t1 = new TimerService({ store: ctx.store, registry, send: send(host) });
    const t2 = new TimerService({
      store: ctx.store,
      registry,
      send: send(new ActorHost({ store: ctx.store, registry })),
    });
    await Promise.all([t1.start(), t2.start()]);
    await eventually(
      () => ctx.store.readEntity('lease', id),
      (es) => es.length === 2,
    );
    await new Promise((r) => setTimeout(r, 500));
    const events = await ctx.store.readEntity('lease', id);
    expect(events.map((e) => e.event.type)).toEqual(['lease.create', 'lease.expire']);
    await Promise.all([t1.stop(), t2.stop(), runner.stop()]);
  });
});
