import type { LiveLinkReply, LiveSessionView, OperatorMessage, TaskRunView } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { call } from '../http.ts';
import { shortId, type Out } from '../output.ts';
import { attach } from './attach.ts';
import { left } from './share.ts';

export interface TaskFlags {
  lane?: string;
  name?: string;
  live?: boolean;
  hard?: boolean;
  soft?: boolean;
  reason?: string;
  summary?: string;
  print?: boolean;
}

const USAGE = `usage:
  tether task run --lane L [--name N] [--no-live] -- <command> [args…]
  tether task list [--lane L] | show <run> | watch <run> [--print]
  tether task pause <run> [--hard] [--reason R] | resume <run> [--reason R] | cancel <run> [--reason R]
  tether task takeover <run> [--soft] [--reason R] | release <run> --summary "what I did"
  tether task message <run> <text…>`;

const usage = (what: string) => new TetherError('INVALID_COMMAND', `${what}\n${USAGE}`);
const need = (v: string | undefined, what: string): string => {
  if (!v?.trim()) throw usage(`${what} is required`);
  return v;
};

const RUNS = '/v1/task-runs';
const runPath = (id: string | undefined) => `${RUNS}/${encodeURIComponent(need(id, 'a task run id'))}`;

const runLine = (r: TaskRunView) =>
  `${shortId(r.task_run_id)}  ${r.status.padEnd(10)} lane ${shortId(r.lane_id)}  ${r.name}${r.live_session ? `  live ${r.live_session.status}` : ''}${r.ended?.reason ? `  (${r.ended.reason})` : ''}`;

const ago = (iso: string | null) =>
  iso ? `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))}s ago` : 'never';

function liveLines(ls: LiveSessionView): string[] {
  const out = [
    `  live session ${shortId(ls.live_session_id)}: ${ls.status} (${ls.provider})${ls.ms_left !== null ? `, ${left(ls.ms_left)}` : ''}${ls.ended ? `: ${ls.ended.reason}` : ''}`,
    `    heartbeat: last ${ago(ls.last_heartbeat_at)}${ls.heartbeat_due_at ? `, due by ${ls.heartbeat_due_at}` : ''}`,
  ];
  for (const g of ls.grants) out.push(`    write grant: ${g.to} until ${g.expires_at} (${left(g.ms_left)})`);
  if (ls.grants.length === 0) out.push('    write grants: none');
  for (const [name, url] of Object.entries(ls.attach.read_only)) out.push(`    read-only ${name}: ${url}`);
  return out;
}

function details(r: TaskRunView): string {
  const out = [
    runLine(r),
    `  command: ${r.command.join(' ')}`,
    `  terminal ${shortId(r.terminal_id)} (session ${shortId(r.session_id)})`,
  ];
  out.push(
    `  started by ${r.started_by}${r.started_at ? ` at ${r.started_at}` : ', not started yet'}${r.agent_pid ? `; agent pid ${r.agent_pid}` : ''}`,
  );
  if (r.pause)
    out.push(
      `  paused (${r.pause.mode}) by ${r.pause.by} at ${r.pause.at}${r.pause.reason ? `: ${r.pause.reason}` : ''}; ${r.pause.honoured_at ? `honoured at ${r.pause.honoured_at}` : 'not honoured yet'}`,
    );
  if (r.takeover)
    out.push(
      `  taken over by ${r.takeover.by} since ${r.takeover.at}${r.takeover.reason ? `: ${r.takeover.reason}` : ''} (release: tether task release ${shortId(r.task_run_id)} --summary "…")`,
    );
  out.push(...(r.live_session ? liveLines(r.live_session) : ['  live session: none (tether task watch starts one)']));
  out.push(`  messages: ${r.messages}`);
  if (r.exit) out.push(`  exit: ${r.exit.signal ? `signal ${r.exit.signal}` : `code ${r.exit.code}`}`);
  if (r.ended) out.push(`  ended ${r.ended.status} at ${r.ended.at}${r.ended.reason ? `: ${r.ended.reason}` : ''}`);
  out.push(`  recording: tether play ${shortId(r.terminal_id)}`);
  return out.join('\n');
}

/** Where to watch, when there is no native link to attach with (tmate, or a session in error). */
function whereToWatch(r: LiveLinkReply): string {
  const ls = r.task_run.live_session;
  if (!ls) return `task run ${shortId(r.task_run.task_run_id)} has no live session`;
  if (ls.status === 'error' || ls.ended)
    return `the live session of ${shortId(r.task_run.task_run_id)} is ${ls.status}: ${ls.ended?.reason ?? 'no reason given'} (the run goes on headless; its recording: tether play ${shortId(r.task_run.terminal_id)})`;
  const ro = Object.entries(ls.attach.read_only);
  return ro.length ? ro.map(([name, url]) => `read-only ${name}: ${url}`).join('\n') : ls.attach.how;
}

const linkLines = (r: LiveLinkReply, what: string) =>
  r.link ? [`${what} (shown once):`, `  ${r.link.url}`, `  tether attach '${r.link.url}'`] : [];

/** Sends a control action and answers the run as it is after it. */
const control = (id: string | undefined, body: Record<string, unknown>) =>
  call<LiveLinkReply>('POST', `${runPath(id)}/control`, body);

/** `tether task …`: agent runs in lanes, watched, paused, taken over and talked to. */
export async function task(
  out: Out,
  sub: string | undefined,
  args: (string | string[] | undefined)[],
  f: TaskFlags,
): Promise<number> {
  const [first, rest] = args as [string | string[] | undefined, string[] | undefined];
  const id = typeof first === 'string' ? first : undefined;
  const why = f.reason ? { reason: f.reason } : {};
  switch (sub) {
    case 'run': {
      const command = Array.isArray(first) ? first : [];
      if (command.length === 0) throw usage('the agent\'s command is required after "--"');
      const r = await call<LiveLinkReply>('POST', RUNS, {
        lane_id: need(f.lane, '--lane'),
        command,
        ...(f.name ? { name: f.name } : {}),
        ...(f.live === false ? { live: false } : {}),
      });
      const watch = r.link ? linkLines(r, 'read-only link') : r.task_run.live_session ? [whereToWatch(r)] : [];
      out.print(
        [runLine(r.task_run), ...watch, `  watch: tether task watch ${shortId(r.task_run.task_run_id)}`].join('\n'),
        r,
      );
      return r.task_run.status === 'failed' ? 1 : 0;
    }
    case 'list': {
      const q = new URLSearchParams(f.lane ? { lane_id: f.lane } : {});
      const r = await call<{ items: TaskRunView[] }>('GET', `${RUNS}?${q}`);
      out.print(r.items.length ? r.items.map(runLine).join('\n') : 'no task runs', r);
      return 0;
    }
    case 'show': {
      const r = await call<TaskRunView>('GET', runPath(id));
      out.print(details(r), r);
      return 0;
    }
    case 'watch': {
      // One's own read-only link (enabling is idempotent), then the terminal here, as `tether attach` shows it.
      const r = await call<LiveLinkReply>('POST', `${runPath(id)}/live-session`, {});
      if (!r.link || f.print || out.json) {
        out.print(r.link ? linkLines(r, 'read-only link').join('\n') : whereToWatch(r), r);
        return r.link || r.task_run.live_session?.status === 'ready' ? 0 : 1;
      }
      return attach(out, r.link.url);
    }
    case 'pause': {
      const r = await control(id, { action: 'pause', mode: f.hard ? 'hard' : 'soft', ...why });
      const p = r.task_run.pause;
      out.print(
        `${runLine(r.task_run)}\n  ${p ? `${p.mode} pause ${p.honoured_at ? `honoured at ${p.honoured_at}` : 'requested; the agent has not honoured it yet'}` : 'not paused'}`,
        r,
      );
      return 0;
    }
    case 'resume':
    case 'cancel': {
      const r = await control(id, { action: sub, ...why });
      out.print(runLine(r.task_run), r);
      return 0;
    }
    case 'takeover': {
      const r = await control(id, { action: 'takeover', mode: f.soft ? 'soft' : 'hard', ...why });
      const grant = r.task_run.live_session?.grants.find((g) => g.participant_id === r.link?.participant_id);
      const endpoints = Object.entries(r.endpoints ?? {}).map(([name, url]) => `  read-write ${name}: ${url}`);
      out.print(
        [
          runLine(r.task_run),
          ...linkLines(r, 'your read-write link'),
          ...endpoints,
          ...(grant ? [`  you may type until ${grant.expires_at} (${left(grant.ms_left)})`] : []),
          `  give it back: tether task release ${shortId(r.task_run.task_run_id)} --summary "what you did"`,
        ].join('\n'),
        r,
      );
      return 0;
    }
    case 'release': {
      const r = await control(id, { action: 'release', summary: need(f.summary, '--summary') });
      out.print(`${runLine(r.task_run)}\n  the summary is in the agent's inbox; it runs again`, r);
      return 0;
    }
    case 'message': {
      const text = (rest ?? []).join(' ');
      const m = await call<OperatorMessage>('POST', `${runPath(id)}/operator-messages`, {
        message: need(text, 'the message text'),
      });
      out.print(`message ${m.seq} to ${shortId(m.task_run_id)} at ${m.ts}`, m);
      return 0;
    }
    default:
      throw usage(`unknown task command ${JSON.stringify(sub)}`);
  }
}
