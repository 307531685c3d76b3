export * from './ids.ts';
export * from './envelope.ts';
export * from './errors.ts';
export * from './command.ts';
export * from './subjects.ts';
export * from './entities.ts';
export * from './entities/control-plane.ts';
export * from './api/control-plane.ts';
