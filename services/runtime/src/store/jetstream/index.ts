export { connectNats, type NatsCredentials } from './connection.ts';
export { failOnDisconnect } from './disconnects.ts';
export * from './errors.ts';
export * from './store.ts';
export * from './streams.ts';
export * from './stream-range.ts';
