import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { sendCommand } from '@tether/runtime';
import { NatsServer, TetherProcess, type Tether } from '@tether/tests';
import { log } from './timing.ts';

/** A reply reduced to what a resend must repeat. */
interface Answer {
  ok: boolean;
  code?: string;
  entityId?: string;
  seq?: number;
  streamSeq?: number;
  duplicate?: boolean;
}

const WINDOW_MS = 1_000; // the stream's duplicate window, shortened so the run can outlast it

/**
 * resendCorrectPct: creates with command ids over HTTP and NATS, a kill -9 of tether halfway, then
 * every id resent twice (at once and past the stream's duplicate window). A resend is correct when
 * it is answered `duplicate: true` with the original entity, seq and stream seq.
 */
export interface ResendResults {
  /** Resends answered with the original result, percent; goal 100. */
  resendCorrectPct: number;
  resendCount: number;
  /** Creates never acknowledged in the first pass (each is retried until answered). */
  resendLost: number;
}

export async function measureResend(n = 200): Promise<ResendResults> {
  const nats = await NatsServer.start();
  const env = { NATS_URL: nats.url, TETHER_DUPLICATE_WINDOW_MS: String(WINDOW_MS) };
  let tether = await TetherProcess.start(env);
  const nc = await connect({ servers: nats.url, name: 'bench-resend' });
  try {
    const ids = Array.from({ length: n }, (_, i) => `bench-resend-${process.pid}-${i}`);
    const send = (i: number) => untilAnswered(() => create(tether, nc, ids[i]!, i % 2 === 0));
    const first: Answer[] = [];
    let next = 0;
    let crash: Promise<void> | undefined;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        first[i] = await send(i);
        crash ??=
          next >= n / 2
            ? (async () => {
                await tether.kill('SIGKILL');
                tether = await TetherProcess.start(env);
              })()
            : undefined;
        await crash;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    let correct = 0;
    let resends = 0;
    for (const round of ['at once', 'past the duplicate window']) {
      if (round !== 'at once') await new Promise((r) => setTimeout(r, WINDOW_MS + 500));
      for (let i = 0; i < n; i++) {
        const again = await send(i);
        const was = first[i]!;
        resends++;
        if (
          again.ok &&
          again.duplicate &&
          again.entityId === was.entityId &&
          again.seq === was.seq &&
          again.streamSeq === was.streamSeq
        )
          correct++;
      }
    }
    const lost = first.filter((a) => !a.ok).length;
    const resendCorrectPct = Math.round((correct / resends) * 1000) / 10;
    log(`resend after kill -9: ${correct}/${resends} resends answered with the original result, ${lost} lost`);
    return { resendCorrectPct, resendCount: resends, resendLost: lost };
  } finally {
    await nc.close();
    await tether.kill();
    await nats.dispose();
  }
}

async function create(base: Tether, nc: NatsConnection, id: string, overHttp: boolean): Promise<Answer> {
  const data = { holder: 'bench', ttlMs: 3_600_000 };
  if (!overHttp) {
    const r = await sendCommand(nc, 'lease', 'create', { id, data }, { credential: base.token, timeoutMs: 5_000 });
    return r.ok ? r : { ok: false, code: r.error.code };
  }
  try {
    const res = await fetch(`${base.url}/v1/commands/lease/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': id, authorization: `Bearer ${base.token}` },
      body: JSON.stringify({ data }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as Answer & { error?: { code: string } };
    return body.error ? { ok: false, code: body.error.code } : body;
  } catch {
    return { ok: false, code: 'UNAVAILABLE' };
  }
}

async function untilAnswered(send: () => Promise<Answer>): Promise<Answer> {
  const end = Date.now() + 60_000;
  for (;;) {
    const a = await send();
    if (a.ok || a.code !== 'UNAVAILABLE' || Date.now() > end) return a;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The bench table's lines for these figures. */
export function resendLines(r: Record<string, unknown>): string[] {
  if (typeof r.resendCorrectPct !== 'number') return [];
  const c = r as unknown as ResendResults;
  return [
    '',
    `resends after a kill -9 of tether (creates over HTTP and NATS, each id resent at once and past the duplicate window):`,
    `  resendCorrectPct ${c.resendCorrectPct}% of ${c.resendCount} (goal 100, ${c.resendCorrectPct === 100 ? 'met' : 'NOT MET'}), ${c.resendLost} lost`,
  ];
}

/** `npm run bench:resend`: this section alone; prints its figures, writes nothing. */
export async function benchResendAlone(): Promise<void> {
  const r = await measureResend();
  process.stdout.write(`${resendLines({ ...r }).join('\n')}\n${JSON.stringify(r, null, 2)}\n`);
}
