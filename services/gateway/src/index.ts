export * from './server.ts';
export * from './metrics.ts';
