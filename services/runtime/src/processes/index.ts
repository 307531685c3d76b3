export * from './proc-scan.ts';
export * from './terminate.ts';
export * from './process-group.ts';
export * from './child-env.ts';
