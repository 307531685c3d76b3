export { anEvent, reacting } from './reactor-spec.ts';
