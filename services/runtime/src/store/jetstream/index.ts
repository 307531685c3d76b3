export { connectNats } from './connection.ts';
export * from './errors.ts';
export * from './store.ts';
export * from './streams.ts';
export * from './stream-range.ts';
