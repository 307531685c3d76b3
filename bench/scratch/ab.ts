import { registry } from '@tether/machines';
import { machineEvent, initialSnapshot } from '@tether/runtime';
import { createActor } from 'xstate';
import { leaseEvent } from '../src/envelope.ts';
const def = registry.lease!;
const base = Date.now();
const evs = Array.from({ length: 100 }, (_, i) => JSON.parse(JSON.stringify(leaseEvent('e', i + 1, new Date(base + i).toISOString()))));
const init = initialSnapshot(def);
function scopeOf(inspect: boolean) {
  const self = createActor(def.machine); const noop = () => {};
  const s: any = { self, system: self.system, id: '', sessionId: '', defer: noop, logger: noop, stopChild: noop, emit: noop, actionExecutor: noop, selected: undefined };
  if (inspect) self.system.inspect((ev: any) => { if (ev.type === '@xstate.microstep' && s.selected === undefined) s.selected = ev._transitions; });
  return s;
}
function a() { const sc = scopeOf(false); let s: any = init; for (const e of evs) { const ev = machineEvent(e); if (!s.can(ev)) throw 1; s = def.machine.transition(s, ev as any, sc); } return s; }
function b() { const sc = scopeOf(true); let s: any = init; for (const e of evs) { const ev = machineEvent(e); sc.selected = undefined; const n = def.machine.transition(s, ev as any, sc); if (!sc.selected.some((t: any) => t.target !== undefined || t.actions.length)) throw 1; s = n; } return s; }
for (let r = 0; r < 6; r++) for (const [name, f] of [['can', a], ['inspect', b]] as const) {
  const t = performance.now(); for (let k = 0; k < 500; k++) f(); console.log(r, name, Math.round(50000 / (performance.now() - t) * 1000));
}
