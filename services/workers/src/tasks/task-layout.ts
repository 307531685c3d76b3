import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskSubjects } from '@tether/contracts';
import { Tmux } from '../terminals/tmux.ts';
import type { TaskFiles } from './task-files.ts';

/** The four panes of a run's tmux session, in the order the tiled layout places them. */
export type PaneRole = 'agent' | 'task log' | 'operator inbox' | 'operator shell';

export interface PaneInfo {
  id: string;
  role: string;
  pid: number;
  dead: boolean;
  /** tmux's own record of how a dead pane ended. */
  status: number | null;
  signal: number | null;
}

export interface AgentLaunch {
  runId: string;
  terminalId: string;
  laneId: string;
  worktree: string;
  command: string[];
  files: TaskFiles;
}

// The agent pane's wrapper: waits for the terminal to relay the run (nothing printed before anyone can
// see it), then runs the agent's argv (no shell) with its environment, both from a file, and writes its
// exit status. It survives INT and TERM (a trap, not an ignore, so the agent keeps their defaults) to
// record how the agent ended. The agent gets a process group of its own, in the terminal's foreground
// (so Ctrl-C in its pane reaches it): tmux continues a pane's stopped process group at once, so a hard
// pause stops the agent's group, never the pane's own. perl-base (essential on Debian) has setpgrp/tcsetpgrp.
const LAUNCH_IN_OWN_GROUP =
  '$SIG{TTOU}="IGNORE"; setpgrp(0,0); tcsetpgrp(0,$$); $SIG{TTOU}="DEFAULT"; exec {$ARGV[0]} @ARGV or die "tether: cannot run $ARGV[0]: $!\\n"';
const AGENT_WRAPPER = `f=$1 st=$2 sock=$3 ch=$4; trap : INT TERM; tmux -S "$sock" wait-for "$ch"; . "$f"; perl -MPOSIX -e '${LAUNCH_IN_OWN_GROUP}' "$@"; s=$?; (umask 077; printf %s "$s" > "$st"); exit "$s"`;

// The inbox pane: follows inbox.jsonl and prints each message readably, control characters masked.
const INBOX_FOLLOWER = `const fs=require('fs');const f=process.argv[1];let off=0,buf='';
console.log('operator inbox: messages to the agent appear here');
const clean=(s)=>String(s).replace(/[\\u0000-\\u0008\\u000b-\\u001f\\u007f]/g,'?');
setInterval(()=>{let st;try{st=fs.statSync(f)}catch{return}
if(st.size<off){off=0;buf=''}if(st.size===off)return;
const fd=fs.openSync(f,'r');const b=Buffer.alloc(st.size-off);fs.readSync(fd,b,0,b.length,off);fs.closeSync(fd);off=st.size;
buf+=b.toString('utf8');let i;while((i=buf.indexOf('\\n'))>=0){const l=buf.slice(0,i);buf=buf.slice(i+1);
try{const m=JSON.parse(l);console.log('['+clean(String(m.ts).slice(11,19))+'] '+clean(m.actor)+': '+clean(m.message))}catch{}}},150);`;

/** POSIX single quotes: the one quoting sh reads back exactly. */
const sq = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
/** tmux takes an argument ending in ';' for a command separator: escape it. */
const arg = (v: string) => (v.endsWith(';') ? `${v.slice(0, -1)}\\;` : v);

/** tmux's answer when no server runs on the socket: no sessions. Any other failure (a slow or wedged tmux) must not read as "every run is gone". */
const noServer = (err: unknown) => /no server running|error connecting|No such file or directory/.test(String(err));

/**
 * A task run's tmux session on the task socket: agent | task log / operator inbox | operator shell
 * (tiled), each pane titled on its border, remain-on-exit on and a 50 000-line history.
 */
export class TaskLayout {
  readonly tmux: Tmux;

  constructor(
    socket: string,
    private readonly opts: { ownerId: string; shell: string },
  ) {
    // No ~/.tmux.conf: its key bindings would reach tmux itself from a run's terminal (see below).
    this.tmux = new Tmux(socket, '/dev/null');
  }

  private channel = (runId: string) => `tether-task-${runId}`;

  async create(a: AgentLaunch): Promise<void> {
    const { runId, files } = a;
    const markers = { TETHER_OWNER: this.opts.ownerId, TETHER_TERMINAL_ID: a.terminalId, TETHER_LANE_ID: a.laneId };
    const agentEnv = {
      ...markers,
      TETHER_TASK_RUN_ID: runId,
      TETHER_TASK_INBOX: files.inbox,
      TETHER_TASK_CONTROL: files.control,
      TETHER_TASK_INBOX_SUBJECT: taskSubjects.inbox(runId),
    };
    // The agent's argv and environment go through a file (0600): never parsed by tmux, never in its argv.
    const launch = join(files.dir, 'agent.sh');
    const exports = Object.entries(agentEnv).map(([k, v]) => `export ${k}=${sq(v)}\n`);
    writeFileSync(launch, `${exports.join('')}set -- ${a.command.map(sq).join(' ')}\n`, { mode: 0o600 });
    const env = Object.entries(markers).flatMap(([k, v]) => ['-e', arg(`${k}=${v}`)]);
    const pane = (i: number) => `=${runId}:0.${i}`;
    const win = `=${runId}:0`;
    const role = (i: number, r: PaneRole) => ['set-option', '-p', '-t', pane(i), '@tether_role', r];
    // Each split goes after the pane before it, so the panes are 0 agent, 1 task log, 2 inbox, 3 shell.
    const split = (after: number, r: PaneRole, cwd: string, ...argv: string[]) => [
      ['split-window', '-d', '-t', pane(after), '-c', arg(cwd), ...env, ...argv.map(arg)],
      role(after + 1, r),
    ];
    // One client call for the whole layout (each call is a process; a run starts in a few hundred ms),
    // the history limit set before the first pane exists.
    const commands: string[][] = [
      ['set-option', '-g', 'history-limit', '50000'],
      // The runs' own tmux server: indexes as the targets above count them, whatever ~/.tmux.conf says.
      ['set-option', '-g', 'base-index', '0'],
      ['set-option', '-g', 'pane-base-index', '0'],
      // Runs share this server, and a run's terminal is a tmux client of it: keys typed into one must never
      // reach tmux itself (C-b ) would switch to another run, C-b : run any tmux command). No prefix, no
      // mouse; the server reads no ~/.tmux.conf, so no other binding reaches it either.
      ['set-option', '-g', 'prefix', 'None'],
      ['set-option', '-g', 'prefix2', 'None'],
      ['set-option', '-g', 'mouse', 'off'],

      ['set-option', '-g', 'remain-on-exit', 'on'],
      [
        'new-session',
        '-d',
        '-s',
        runId,
        '-x',
        '200',
        '-y',
        '50',
        '-c',
        arg(a.worktree),
        ...env,
        'sh',
        '-c',
        AGENT_WRAPPER,
        'tether-agent',
        arg(launch),
        arg(files.status),
        arg(this.tmux.socket),
        this.channel(runId),
      ],
      role(0, 'agent'),
      ...split(0, 'task log', files.dir, 'tail', '-n', '+1', '-F', files.log),
      ...split(1, 'operator inbox', files.dir, process.execPath, '-e', INBOX_FOLLOWER, files.inbox),
      ...split(2, 'operator shell', a.worktree, 'sh', '-c', this.opts.shell),
      ['select-layout', '-t', win, 'tiled'],
      ['set-option', '-w', '-t', win, 'pane-border-status', 'top'],
      [
        'set-option',
        '-w',
        '-t',
        win,
        'pane-border-format',
        ' #{pane_index}: #{@tether_role} #{?pane_active,(active) ,}',
      ],
      ['set-option', '-t', `=${runId}:`, 'status-left-length', '40'],
      ['set-option', '-t', `=${runId}:`, 'status-left', `[task ${runId}] `],
      ['select-pane', '-t', pane(0)],
    ];
    await this.tmux.command(commands.flatMap((c, i) => (i === 0 ? c : [';', ...c])));
  }

  /** Lets the agent start (tmux keeps the signal if its pane does not wait yet). */
  async release(runId: string): Promise<void> {
    // The terminal's client drew its first screen before tether piped the terminal's output: drawn again,
    // the whole layout (panes, titles, the inbox's greeting) is in its log, its scrollback and its recording.
    const clients = await this.tmux
      .command(['list-clients', '-t', `=${runId}`, '-F', '#{client_name}'])
      .catch(() => '');
    for (const client of clients.split('\n').filter(Boolean))
      await this.tmux.command(['refresh-client', '-t', client]).catch(() => undefined);
    await this.tmux.command(['wait-for', '-S', this.channel(runId)]);
  }

  /** The panes of every run's session (one listing), by run id. */
  /** The runs' sessions; none when no server runs, and an error (never "none") when tmux does not answer. */
  async sessions(): Promise<Set<string>> {
    try {
      return new Set((await this.tmux.command(['list-sessions', '-F', '#{session_name}'])).split('\n').filter(Boolean));
    } catch (err) {
      if (noServer(err)) return new Set();
      throw err;
    }
  }

  async panes(): Promise<Map<string, PaneInfo[]>> {
    const out = new Map<string, PaneInfo[]>();
    let listing: string;
    try {
      listing = await this.tmux.command([
        'list-panes',
        '-a',
        '-F',
        '#{session_name}\t#{pane_id}\t#{@tether_role}\t#{pane_pid}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_dead_signal}',
      ]);
    } catch (err) {
      if (noServer(err)) return out;
      throw err;
    }
    for (const line of listing.split('\n')) {
      const [session, id, role, pid, dead, status, signal] = line.split('\t');
      if (!session || !id) continue;
      const list = out.get(session) ?? [];
      list.push({
        id,
        role: role ?? '',
        pid: Number(pid),
        dead: dead === '1',
        status: status ? Number(status) : null,
        signal: signal ? Number(signal) : null,
      });
      out.set(session, list);
    }
    return out;
  }

  async pane(runId: string, role: PaneRole): Promise<PaneInfo | undefined> {
    return (await this.panes()).get(runId)?.find((p) => p.role === role);
  }

  /** Makes a pane the active one (where keys typed into the run's terminal go). */
  async select(runId: string, role: PaneRole): Promise<void> {
    const p = await this.pane(runId, role);
    if (p) await this.tmux.command(['select-pane', '-t', p.id]);
  }

  hasSession = (runId: string) => this.tmux.hasSession(runId);
  kill = (runId: string) => this.tmux.killSession(runId);
}
