export * from './audit-record.ts';
export * from './audit-log.ts';
export * from './audit-log-for.ts';
export * from './jetstream-audit-log.ts';
export * from './file-audit-log.ts';
export * from './audit-projector.ts';
export { DEFAULT_AUDIT_READ_LIMIT } from './read-filter.ts';
