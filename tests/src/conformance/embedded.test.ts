import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { EmbeddedEventStore, type EventStore } from '@tether/runtime';
import { eventStoreConformance } from './event-store.conformance.ts';

const dirs: string[] = [];
const open: EventStore[] = [];
afterAll(async () => {
  for (const s of open) await s.close().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

eventStoreConformance('embedded (append-only file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-embedded-'));
  dirs.push(dir);
  const store = await EmbeddedEventStore.open(dir);
  open.push(store);
  return {
    store,
    crashAndReopen: async () => {
      // The embedded store lives in the process: a crash is a close without acks, then a reopen of the files.
      await store.close();
      const again = await EmbeddedEventStore.open(dir);
      open.push(again);
      return again;
    },
  };
});
