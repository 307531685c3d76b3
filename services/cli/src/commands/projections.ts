import { TetherError } from '@tether/contracts/tether-error';
import { registry } from '@tether/machines';
import { ProjectionRunner, projections, readModelContents } from '@tether/projector';
import { openStoreForClient } from '../store.ts';
import type { Out } from '../output.ts';

/** `tether projections rebuild <name>` and `tether projections status`. */
export async function projectionsCmd(out: Out, sub: string | undefined, name: string | undefined): Promise<number> {
  const all = projections(registry);
  if (sub === 'status') {
    const store = await openStoreForClient();
    try {
      const rows = await Promise.all(
        Object.values(all).map(async (p) => ({
          name: p.name,
          bucket: p.bucket,
          lag: await new ProjectionRunner(store, p).lag(),
        })),
      );
      out.print(rows.map((r) => `${r.name.padEnd(12)} lag ${r.lag}  (${r.bucket})`).join('\n'), { items: rows });
    } finally {
      await store.close();
    }
    return 0;
  }
  if (sub !== 'rebuild')
    throw new TetherError('INVALID_COMMAND', 'usage: tether projections rebuild <name> | tether projections status');
  const projection = name ? all[name as keyof typeof all] : undefined;
  if (!projection)
    throw new TetherError(
      'INVALID_COMMAND',
      `unknown projection "${name ?? ''}"; known: ${Object.keys(all).join(', ')}`,
    );
  const store = await openStoreForClient({ write: true });
  try {
    const started = Date.now();
    const runner = new ProjectionRunner(store, projection);
    await runner.rebuild();
    await runner.stop();
    const docs = Object.keys(await readModelContents(store, projection.bucket)).length;
    out.print(`rebuilt ${projection.name}: ${docs} documents from the whole stream in ${Date.now() - started} ms`, {
      ok: true,
      name: projection.name,
      documents: docs,
      ms: Date.now() - started,
    });
  } finally {
    await store.close();
  }
  return 0;
}
