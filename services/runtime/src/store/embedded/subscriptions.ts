import { TetherError, subjects, type StoredEvent } from '@tether/contracts';
import type { DurableSubscriptions, SubscribeOptions, Subscription } from '../ports/subscriptions.ts';
import type { StoreContext } from './common.ts';
import { DurableConsumer, type Position } from './durable-consumer.ts';
import type { EmbeddedEventLog } from './event-log.ts';
import type { EmbeddedKv } from './kv-bucket.ts';

/** Durable subscriptions of the writer process; their positions live in dir/subscriptions.jsonl. */
export class EmbeddedSubscriptions implements DurableSubscriptions {
  private readonly active = new Map<string, DurableConsumer>();

  constructor(
    private readonly ctx: StoreContext,
    private readonly events: EmbeddedEventLog,
    private readonly positions: EmbeddedKv,
  ) {}

  async subscribe(
    name: string,
    opts: SubscribeOptions,
    handler: (event: StoredEvent) => Promise<void>,
  ): Promise<Subscription> {
    this.ctx.assertWritable();
    if (this.active.has(name))
      throw new TetherError('CONFLICT', `subscription ${name} is already active in this process; stop it first`);
    const filter = opts.filter ?? subjects.allEvents;
    const saved = this.savedPosition(name);
    const position: Position = { floor: saved?.floor ?? 0, filter };
    if (saved?.filter !== filter) this.positions.write(name, 'put', position);
    const deps = {
      log: this.events.reader(),
      positions: this.positions,
      logger: this.ctx.logger,
      waitForEvents: (s: AbortSignal) => this.events.waitForEvents(s),
    };
    const consumer = new DurableConsumer(
      name,
      position,
      opts.ackWaitMs ?? 30_000,
      opts.maxInFlight ?? 1,
      handler,
      deps,
    );
    this.active.set(name, consumer);
    return {
      name,
      stop: async () => {
        await consumer.stop();
        if (this.active.get(name) === consumer) this.active.delete(name);
      },
    };
  }

  async deleteSubscription(name: string): Promise<void> {
    this.ctx.assertWritable();
    const active = this.active.get(name);
    this.active.delete(name);
    await active?.stop();
    if (this.savedPosition(name)) this.positions.write(name, 'del');
  }

  async subscriptionLag(name: string): Promise<number | undefined> {
    const stream = this.events.reader();
    const p = this.savedPosition(name);
    return p && stream.countAfter(p.floor, p.filter);
  }

  /** Stops every subscription, waiting for the handler calls in flight. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.active.values()].map((s) => s.stop()));
    this.active.clear();
  }

  close(): void {
    this.positions.close();
  }

  private savedPosition(name: string): Position | undefined {
    const r = this.positions.current(name);
    return r?.op === 'put' ? (r.value as Position) : undefined;
  }
}
