export * from './actor-reads.ts';
export * from './control-plane-views.ts';
export * from './share-views.ts';
export * from './handoff-views.ts';
export * from './recovery-views.ts';
export * from './live-views.ts';
export * from './lane-family.ts';
export * from './page.ts';
