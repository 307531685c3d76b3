export { anEvent, reacting } from './reactor-spec.ts';
export { at, cmd, given, MIN, T0, type Expected, type Step } from './decider-spec.ts';
