import { randomUUID } from 'node:crypto';

/** Time and ids are injected so machines stay pure and tests can steer them. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
export type IdGenerator = () => string;
export const uuid: IdGenerator = () => randomUUID();
