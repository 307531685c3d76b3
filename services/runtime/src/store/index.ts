export * from './port.ts';
export * from './jetstream.ts';
export * from './embedded.ts';
