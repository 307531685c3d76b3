import type { SavedActor } from '@tether/runtime';

/**
 * One page of actors, the most recently changed first: `cursor` is the stream sequence the page before
 * stopped at (each actor's last event has its own), so a page never repeats the one before it.
 */
export async function pageOf<A extends SavedActor, V>(
  actors: readonly A[],
  q: { limit: number; cursor?: string },
  views: (page: A[]) => Promise<V[]> | V[],
): Promise<{ items: V[]; next_cursor: string | null }> {
  const below = q.cursor ? Number(q.cursor) : Infinity;
  const sorted = actors.filter((a) => a.streamSeq < below).sort((a, b) => b.streamSeq - a.streamSeq);
  const page = sorted.slice(0, q.limit);
  const more = sorted.length > q.limit;
  return { items: await views(page), next_cursor: more ? String(page.at(-1)!.streamSeq) : null };
}
