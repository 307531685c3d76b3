import type { OrphanView, RecoveryStatusView, RecoveryView, SafeModeView } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { call } from '../http.ts';
import type { Out } from '../output.ts';

export interface RecoveryFlags {
  reason?: string;
  all?: boolean;
  run?: string;
}

const USAGE = `usage:
  tether recovery status | show <recovery-id> | review
  tether recovery clean --reason R (--all | <orphan-id>...) [--run <recovery-id>]
  tether recovery leave-safe-mode --reason R`;

const usage = (what: string) => new TetherError('INVALID_COMMAND', `${what}\n${USAGE}`);

const RUNS = '/v1/recovery/runs';
const runPath = (id: string) => `${RUNS}/${encodeURIComponent(id)}`;

/** One run by its id, or by a prefix of it that names exactly one run (tether resolves it: AMBIGUOUS_ID otherwise). */
const resolveRun = (id: string) => call<RecoveryView>('GET', runPath(id));

function safeModeLines(s: SafeModeView | null): string[] {
  if (!s) return ['safe mode: off'];
  if (!s.active) return [`safe mode: off (left ${s.left_at} by ${s.left_by}; run ${s.recovery_id})`];
  return [
    `safe mode: ON since run ${s.recovery_id}: ${s.reason} (${s.crashes} crashes)`,
    `  off while it lasts: ${s.disabled.join(', ')}`,
    `  to leave it: ${s.leave}`,
  ];
}

const counts = (r: RecoveryView) =>
  `${r.result.restored} reattached, ${r.result.respawned} respawned, ${r.result.failed.length} failed`;

function orphanLine(r: RecoveryView): string {
  const o = r.orphans;
  if (!o) return 'orphans: not reconciled yet';
  return `orphans: ${o.total_found} found, ${o.cleanup.terminated} terminated, ${o.cleanup.removed} removed, ${o.cleanup.review_pending} need review${o.cleanup.failed.length ? `, ${o.cleanup.failed.length} could not be cleaned` : ''}`;
}

function statusText(s: RecoveryStatusView): string {
  const out = safeModeLines(s.safe_mode);
  const r = s.latest;
  if (!r) {
    out.push('no recovery run: tether has not had to recover from a crash');
    return out.join('\n');
  }
  out.push(
    s.recovering ? `a recovery run is going on (${r.status})` : 'no recovery run is going on',
    `latest run ${r.recovery_id} (${r.status}, started ${r.started_at}): ${r.stage_text}`,
    `  ${counts(r)}; ${orphanLine(r)}`,
    `  details: tether recovery show ${r.recovery_id}`,
  );
  return out.join('\n');
}

const exitText = (e: RecoveryView['crashes'][number]['exit']) =>
  e
    ? `${e.reason === 'heartbeat' ? 'stopped answering its heartbeat' : 'exited'}${e.code !== null ? `, exit code ${e.code}` : ''}${e.signal ? `, signal ${e.signal}` : ''}`
    : 'how it ended is not known';

/** The stages a run reached, in order (a failed run: up to where it failed). */
function stagesReached(r: RecoveryView): string {
  const reached = ['detecting'];
  if (r.tmux) reached.push('inventorying');
  if (r.terminals.length || r.status === 'restoring' || r.lanes || r.orphans) reached.push('restoring');
  if (r.orphans || r.status === 'reconciling') reached.push('reconciling');
  if (r.status === 'live' || r.status === 'liveWithIssues' || r.status === 'failed') reached.push(r.status);
  return [...new Set(reached)].join(' → ');
}

const orphanItem = (i: { id: string; kind: string; ref: string; reason: string }) =>
  `    ${i.id}  ${i.kind}  ${i.ref}  (${i.reason})`;

function details(r: RecoveryView): string {
  const out = [
    `recovery ${r.recovery_id}: ${r.status}${r.fail_reason ? ` (${r.fail_reason})` : ''}`,
    `  ${r.stage_text}`,
    `  started ${r.started_at} by instance ${r.instance_id}${r.resumes ? `, resumed ${r.resumes} times` : ''}`,
    `  stages reached: ${stagesReached(r)}`,
    `  duration: ${r.result.duration_ms === null ? 'still running' : `${r.result.duration_ms} ms`}`,
    ...safeModeLines(r.safe_mode).map((l) => `  ${l}`),
    `  crashes (${r.crashes.length}):`,
    ...r.crashes.map(
      (c) =>
        `    ${c.crashed_at}  instance ${c.instance_id} pid ${c.pid}: ${exitText(c.exit)}; last heartbeat ${c.last_heartbeat_at ?? 'never'}`,
    ),
  ];
  if (r.tmux) out.push(`  tmux: ${r.tmux.alive ? `survived with ${r.tmux.sessions} sessions` : 'gone'}`);
  out.push(`  terminals (${r.progress.done} of ${r.progress.total} done; ${counts(r)}):`);
  for (const t of r.terminals) {
    out.push(
      `    ${t.terminal_id}  lane ${t.lane_id}  plan ${t.plan}  ${t.outcome ?? 'pending'}${t.reason ? `: ${t.reason}` : ''}`,
    );
    if (t.what_to_do) out.push(`      what to do: ${t.what_to_do}`);
  }
  if (r.lanes)
    out.push(
      `  lanes checked: ${r.lanes.present} present${r.lanes.missing.length ? `, worktree missing: ${r.lanes.missing.join(', ')}` : ''}`,
    );
  out.push(`  ${orphanLine(r)}`);
  if (r.orphans?.needs_review.length)
    out.push(
      '  needing review (tether recovery review; tether recovery clean):',
      ...r.orphans.needs_review.map(orphanItem),
    );
  for (const f of r.orphans?.cleanup.failed ?? []) out.push(`    could not clean ${f.id}: ${f.reason}`);
  if (r.dismissed_at) out.push(`  summary dismissed ${r.dismissed_at}`);
  return out.join('\n');
}

function reviewTable(items: OrphanView[]): string {
  if (!items.length) return 'nothing to review: no orphan is waiting for a decision';
  const rows = [
    ['ID', 'KIND', 'REF', 'REASON', 'RUN'],
    ...items.map((i) => [i.id, i.kind, i.ref, i.reason, i.recovery_id]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const table = rows.map((row) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  return `${table.join('\n')}\nclean them: tether recovery clean --reason "<why>" (--all | <id>...)`;
}

/** What `clean` asked of one run and what its reply shows. */
interface Cleaned {
  recovery_id: string;
  requested: string[];
  cleaned: string[];
  still_pending: string[];
}

async function clean(out: Out, ids: string[], f: RecoveryFlags): Promise<number> {
  if (!f.reason) throw usage('--reason is required: say why these orphans may go, for the audit log');
  if (!f.all && !ids.length) throw usage('name what to clean: --all, or the orphan ids `tether recovery review` lists');
  if (f.all && ids.length) throw usage('give either --all or orphan ids, not both');
  const run = f.run ? (await resolveRun(f.run)).recovery_id : undefined;
  const pending = (await call<{ items: OrphanView[] }>('GET', '/v1/recovery/review')).items.filter(
    (i) => !run || i.recovery_id === run,
  );
  const unknown = ids.filter((id) => !pending.some((i) => i.id === id));
  if (unknown.length)
    throw new TetherError(
      'NOT_FOUND',
      `not waiting for review${run ? ` in run ${run}` : ''}: ${unknown.join(', ')}; \`tether recovery review\` lists what is`,
    );
  const chosen = f.all ? pending : pending.filter((i) => ids.includes(i.id));
  const byRun = new Map<string, string[]>();
  for (const i of chosen) byRun.set(i.recovery_id, [...(byRun.get(i.recovery_id) ?? []), i.id]);
  const results: Cleaned[] = [];
  const runs: RecoveryView[] = [];
  for (const [id, items] of byRun) {
    const after = await call<RecoveryView>('POST', `${runPath(id)}/clean`, {
      ...(f.all ? {} : { items }),
      reason: f.reason,
    });
    const left = new Set(after.orphans?.needs_review.map((i) => i.id));
    results.push({
      recovery_id: id,
      requested: items,
      cleaned: items.filter((i) => !left.has(i)),
      still_pending: items.filter((i) => left.has(i)),
    });
    runs.push(after);
  }
  const human = results.length
    ? results
        .map((r) =>
          [
            `run ${r.recovery_id}: clean of ${r.requested.length} accepted`,
            ...(r.cleaned.length ? [`  cleaned: ${r.cleaned.join(', ')}`] : []),
            ...(r.still_pending.length
              ? [`  still being cleaned: ${r.still_pending.join(', ')} (\`tether recovery review\` shows what is left)`]
              : []),
          ].join('\n'),
        )
        .join('\n')
    : 'nothing to review: no orphan is waiting for a decision';
  out.print(human, { items: results, runs });
  return 0;
}

/** `tether recovery …`: crash recovery runs, safe mode, and the orphans that wait for a decision. */
export async function recovery(
  out: Out,
  sub: string | undefined,
  args: (string | string[] | undefined)[],
  f: RecoveryFlags,
): Promise<number> {
  switch (sub) {
    case 'status': {
      const s = await call<RecoveryStatusView>('GET', '/v1/recovery');
      out.print(statusText(s), s);
      return 0;
    }
    case 'show': {
      const id = args[0];
      if (typeof id !== 'string' || !id) throw usage('a recovery id is required');
      const r = await resolveRun(id);
      out.print(details(r), r);
      return 0;
    }
    case 'review': {
      const r = await call<{ items: OrphanView[] }>('GET', '/v1/recovery/review');
      out.print(reviewTable(r.items), r);
      return 0;
    }
    case 'clean':
      return clean(
        out,
        args.flat().filter((a): a is string => typeof a === 'string'),
        f,
      );
    case 'leave-safe-mode': {
      if (!f.reason) throw usage('--reason is required: say why it is safe to leave safe mode, for the audit log');
      const s = await call<RecoveryStatusView>('POST', '/v1/recovery/safe-mode/leave', { reason: f.reason });
      out.print('left safe mode: share workers, the harness monitor and new terminals start again', s);
      return 0;
    }
    default:
      throw new TetherError('INVALID_COMMAND', USAGE);
  }
}
