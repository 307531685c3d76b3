import type { EventLog } from './ports/event-log.ts';
import type { KeyValueStore } from './ports/key-value.ts';
import type { DurableSubscriptions } from './ports/subscriptions.ts';
import type { EventStore } from './port.ts';

/** The parts of an adapter, one per port. */
export interface StoreSurfaces {
  log: EventLog;
  subscriptions: DurableSubscriptions;
  keyValue: KeyValueStore;
}

/** An EventStore made of one object per port: each call goes to the surface that owns it. */
export abstract class ComposedEventStore implements EventStore {
  abstract readonly kind: EventStore['kind'];
  private readonly log: EventLog;
  private readonly subscriptions: DurableSubscriptions;
  private readonly keyValue: KeyValueStore;

  protected constructor(surfaces: StoreSurfaces) {
    ({ log: this.log, subscriptions: this.subscriptions, keyValue: this.keyValue } = surfaces);
  }

  abstract close(): Promise<void>;

  append(...a: Parameters<EventLog['append']>) {
    return this.log.append(...a);
  }
  lastSubjectSeq(...a: Parameters<EventLog['lastSubjectSeq']>) {
    return this.log.lastSubjectSeq(...a);
  }
  getEvent(...a: Parameters<EventLog['getEvent']>) {
    return this.log.getEvent(...a);
  }
  readEntity(...a: Parameters<EventLog['readEntity']>) {
    return this.log.readEntity(...a);
  }
  readAll(...a: Parameters<EventLog['readAll']>) {
    return this.log.readAll(...a);
  }
  follow(...a: Parameters<EventLog['follow']>) {
    return this.log.follow(...a);
  }
  lastStreamSeq() {
    return this.log.lastStreamSeq();
  }
  subscribe(...a: Parameters<DurableSubscriptions['subscribe']>) {
    return this.subscriptions.subscribe(...a);
  }
  deleteSubscription(...a: Parameters<DurableSubscriptions['deleteSubscription']>) {
    return this.subscriptions.deleteSubscription(...a);
  }
  subscriptionLag(...a: Parameters<DurableSubscriptions['subscriptionLag']>) {
    return this.subscriptions.subscriptionLag(...a);
  }
  kv(...a: Parameters<KeyValueStore['kv']>) {
    return this.keyValue.kv(...a);
  }
  destroyKv(...a: Parameters<KeyValueStore['destroyKv']>) {
    return this.keyValue.destroyKv(...a);
  }
}
