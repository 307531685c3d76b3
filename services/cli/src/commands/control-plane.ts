import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HarnessStatusView, LaneView, SessionView, TerminalView } from '@tether/contracts';
import { TetherError } from '@tether/contracts/tether-error';
import { call } from '../http.ts';
import { shortId, type Out } from '../output.ts';
import { dataDir } from '../data-dir.ts';
import { cliConfig } from '../cli-config.ts';

export interface CpFlags {
  workspace?: string;
  lane?: string;
  session?: string;
  project?: string;
  name?: string;
  title?: string;
  reason?: string;
  transport?: string;
  'codex-session'?: string;
}

export const lanesPath = (f: CpFlags) =>
  `/v1/workspaces/${encodeURIComponent(f.workspace ?? cliConfig().TETHER_WORKSPACE)}/lanes`;
const need = (v: string | undefined, what: string, usage: string): string => {
  if (!v) throw new TetherError('INVALID_COMMAND', `${what} is required; usage: ${usage}`);
  return v;
};
const laneLine = (l: LaneView) =>
  `${shortId(l.lane_id)}  ${l.status.padEnd(12)} ${l.display_name}  ${l.worktree_path ?? ''}${l.error ? `  (${l.error.reason}: ${l.error.message})` : ''}`;
const sessionLine = (s: SessionView) =>
  `${shortId(s.session_id)}  ${s.status.padEnd(10)} ${s.transport}  codex=${s.codex_session_id}${s.diagnostics.degrade_reason ? `  (${s.diagnostics.degrade_reason})` : ''}`;
const terminalLine = (t: TerminalView) =>
  `${shortId(t.terminal_id)}  ${t.state.padEnd(10)} ${t.title ?? ''}${t.close_reason ? `  (${t.close_reason})` : ''}`;

/** `tether lane create|list|show|attach|cleanup` */
export async function lane(out: Out, sub: string | undefined, id: string | undefined, f: CpFlags): Promise<number> {
  switch (sub) {
    case 'create': {
      const l = await call<LaneView>('POST', lanesPath(f), {
        project_context_id: f.project ?? 'default',
        display_name: need(f.name, '--name', 'tether lane create --name NAME [--project ID] [--workspace WS]'),
      });
      out.print(laneLine(l), l);
      return l.status === 'error' ? 1 : 0;
    }
    case 'list': {
      const r = await call<{ items: LaneView[] }>('GET', lanesPath(f));
      out.print(r.items.length ? r.items.map(laneLine).join('\n') : 'no lanes', r);
      return 0;
    }
    case 'show':
    case 'attach': {
      const laneId = need(id, 'a lane id', `tether lane ${sub} <lane-id>`);
      const l = await call<LaneView>(
        sub === 'attach' ? 'POST' : 'GET',
        `${lanesPath(f)}/${laneId}${sub === 'attach' ? '/attach' : ''}`,
      );
      out.print(sub === 'attach' ? `${laneLine(l)}\n  cd ${l.worktree_path}` : laneLine(l), l);
      return 0;
    }
    case 'cleanup': {
      const laneId = need(id, 'a lane id', 'tether lane cleanup <lane-id> [--reason TEXT]');
      const l = await call<LaneView>('POST', `${lanesPath(f)}/${laneId}/cleanup`, f.reason ? { reason: f.reason } : {});
      out.print(laneLine(l), l);
      return 0;
    }
    default:
      throw new TetherError('INVALID_COMMAND', 'usage: tether lane create|list|show|attach|cleanup');
  }
}

/** `tether session ensure|list --lane L` */
export async function session(out: Out, sub: string | undefined, f: CpFlags): Promise<number> {
  const laneId = need(f.lane, '--lane', `tether session ${sub ?? 'ensure|list'} --lane LANE`);
  if (sub === 'ensure') {
    const s = await call<SessionView>('POST', `${lanesPath(f)}/${laneId}/sessions`, {
      provider: 'codex',
      ...(f.transport ? { preferred_transport: f.transport } : {}),
      ...(f['codex-session'] ? { codex_session_id: f['codex-session'] } : {}),
    });
    out.print(sessionLine(s), s);
    return 0;
  }
  if (sub === 'list') {
    const r = await call<{ items: SessionView[] }>('GET', `${lanesPath(f)}/${laneId}/sessions`);
    out.print(r.items.length ? r.items.map(sessionLine).join('\n') : 'no sessions', r);
    return 0;
  }
  throw new TetherError('INVALID_COMMAND', 'usage: tether session ensure|list --lane LANE');
}

/** `tether terminal spawn|list --lane L`, `tether terminal attach <id>` */
export async function terminal(out: Out, sub: string | undefined, id: string | undefined, f: CpFlags): Promise<number> {
  if (sub === 'attach') {
    const terminalId = need(id, 'a terminal id', 'tether terminal attach <terminal-id>');
    const socket = join(dataDir(), 'terminals', 'tmux.sock');
    if (!existsSync(socket))
      throw new TetherError(
        'NOT_FOUND',
        `no tether tmux socket at ${socket}; attach on the machine where tether runs (or set TETHER_HOME)`,
      );
    if (!process.stdin.isTTY) throw new TetherError('INVALID_COMMAND', 'terminal attach needs an interactive terminal');
    const session = tmuxSessionOf(socket, terminalId);
    return spawnSync('tmux', ['-S', socket, 'attach-session', '-t', `=${session}`], { stdio: 'inherit' }).status ?? 1;
  }
  const laneId = need(f.lane, '--lane', `tether terminal ${sub ?? 'spawn|list'} --lane LANE`);
  if (sub === 'spawn') {
    const t = await call<TerminalView>('POST', `${lanesPath(f)}/${laneId}/terminals`, {
      session_id: need(f.session, '--session', 'tether terminal spawn --lane LANE --session SESSION [--title T]'),
      ...(f.title ? { title: f.title } : {}),
    });
    out.print(`${terminalLine(t)}\n  attach: tether terminal attach ${shortId(t.terminal_id)}`, t);
    return t.state === 'closed' ? 1 : 0;
  }
  if (sub === 'list') {
    const r = await call<{ items: TerminalView[] }>('GET', `${lanesPath(f)}/${laneId}/terminals`);
    out.print(r.items.length ? r.items.map(terminalLine).join('\n') : 'no terminals', r);
    return 0;
  }
  throw new TetherError(
    'INVALID_COMMAND',
    'usage: tether terminal spawn|list --lane LANE | tether terminal attach <id>',
  );
}

/** The tmux session of a terminal named by its id or a unique prefix of it (ids are printed short). */
function tmuxSessionOf(socket: string, id: string): string {
  const listed = spawnSync('tmux', ['-S', socket, 'list-sessions', '-F', '#{session_name}'], { encoding: 'utf8' });
  const names = (listed.stdout ?? '').split('\n').filter(Boolean);
  if (names.includes(id)) return id;
  const matches = names.filter((n) => n.startsWith(id));
  if (matches.length === 1) return matches[0]!;
  throw new TetherError(
    matches.length ? 'INVALID_COMMAND' : 'NOT_FOUND',
    matches.length
      ? `"${id}" is the start of ${matches.length} terminals' ids (${matches.map((m) => m.slice(0, 12)).join(', ')}); give more of it`
      : `no running terminal ${id} in this tether's tmux (${socket}); see \`tether terminal list --lane LANE\``,
  );
}

/** `tether harness status [--check]` */
export async function harness(out: Out, sub: string | undefined, check: boolean): Promise<number> {
  if (sub !== 'status') throw new TetherError('INVALID_COMMAND', 'usage: tether harness status [--check]');
  const h = await call<HarnessStatusView>(
    check ? 'POST' : 'GET',
    check ? '/v1/harness/cliproxy/check' : '/v1/harness/cliproxy/status',
  );
  out.print(`harness ${h.status}: route ${h.transport}${h.degrade_reason ? `  (${h.degrade_reason})` : ''}`, h);
  return 0;
}
