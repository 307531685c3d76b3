export * from './nats-server.ts';
export * from './fixtures.ts';
export * from './tether-process.ts';
export * from './control-plane.ts';
export * from './browser.ts';
export * from './share-viewer.ts';
export * from './lanes-in-flight.ts';
export * from './recovery-runs.ts';
