export * from './server.ts';
export * from './metrics.ts';
export * from './register-routes.ts';
