import type { EventLog } from './ports/event-log.ts';
import type { KeyValueStore } from './ports/key-value.ts';
import type { DurableSubscriptions } from './ports/subscriptions.ts';

export * from './ports/event-log.ts';
export * from './ports/key-value.ts';
export * from './ports/subscriptions.ts';

/**
 * The three ports an adapter implements; both adapters pass the same conformance suite. Consumers
 * take the narrowest port they use (a projection: DurableSubscriptions & KeyValueStore).
 */
export interface EventStore extends EventLog, DurableSubscriptions, KeyValueStore {
  readonly kind: 'jetstream' | 'embedded';
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const encodeJson = (v: unknown) => encoder.encode(JSON.stringify(v));
export const decodeJson = <T = unknown>(b: Uint8Array): T => JSON.parse(decoder.decode(b)) as T;
