export * from './port.ts';
export * from './jetstream/index.ts';
export * from './embedded/index.ts';
