import { registry } from '@tether/machines';
import { rebuildActors } from '@tether/runtime';
import type { StoredEvent } from '@tether/contracts';
import { FakeEventStore } from '../src/fake-store.ts';
import { leaseEvent } from '../src/envelope.ts';
const events: StoredEvent[] = [];
const base = Date.now();
let seq = 0;
for (let r = 1; r <= 100; r++) for (let e = 0; e < 1000; e++) { const ev = leaseEvent(`rp-${e}`, r, new Date(base + r).toISOString()); events.push({ streamSeq: ++seq, subject: `tether.evt.lease.rp-${e}`, event: JSON.parse(JSON.stringify(ev)) }); }
const fake = new FakeEventStore().load(events);
for (let i = 0; i < 5; i++) { const t = performance.now(); const m = await rebuildActors(fake, registry); console.log((100000 / (performance.now() - t) * 1000).toFixed(0), '/s', m.size); }
let t = performance.now(); let n = 0; for await (const e of fake.readAll()) n++; console.log('fake readAll only', (100000 / (performance.now() - t) * 1000).toFixed(0));
