import type { Entry, Flag, Leaf } from './command-shapes.ts';

export {
  isGroup,
  type Arg,
  type Entry,
  type Flag,
  type Flags,
  type Group,
  type Leaf,
  type WholeNumber,
} from './command-shapes.ts';

/**
 * Every `tether` command: its arguments, flags and summary, and the module that runs it.
 * Modules are imported only when their command runs, so help, version and completion load none of them.
 */

const controlPlane = () => import('./commands/control-plane.ts');
const sharing = () => import('./commands/share.ts');
const audit = () => import('./commands/audit.ts');
const handoffs = () => import('./commands/handoff.ts');
const projections = () => import('./commands/projections.ts');
const tokens = () => import('./commands/token.ts');
const recoveries = () => import('./commands/recovery.ts');
const tasks = () => import('./commands/task.ts');

const WORKSPACE: Flag = ['--workspace <ws>', 'workspace (default: TETHER_WORKSPACE or "default")'];
const LANE: Flag = ['--lane <lane-id>', 'the lane (required)'];
const REASON: Flag = ['--reason <text>', 'why, for the audit log'];
const FOLLOW: Flag = ['--follow', 'keep printing new ones as they come (the default)'];
const NO_FOLLOW: Flag = ['--no-follow', 'print what is there and stop'];

const lane =
  (sub: string): Leaf['run'] =>
  async (out, [id], f) =>
    (await controlPlane()).lane(out, sub, id, f);
const share =
  (sub: string): Leaf['run'] =>
  async (out, [id, participant], f) =>
    (await sharing()).share(out, sub, id, participant, f);
const approval =
  (sub: string): Leaf['run'] =>
  async (out, [id], f) =>
    (await sharing()).approval(out, sub, id, f);
const handoff =
  (sub: string): Leaf['run'] =>
  async (out, [id], f) =>
    (await handoffs()).handoff(out, sub, id, f);
const recovery =
  (sub: string): Leaf['run'] =>
  async (out, args, f) =>
    (await recoveries()).recovery(out, sub, args, f);
const task =
  (sub: string): Leaf['run'] =>
  async (out, args, f) =>
    (await tasks()).task(out, sub, args, f);
const RUN = '<run-id>';

export const COMMANDS: Readonly<Record<string, Entry>> = {
  up: {
    summary: 'run tether (NATS_URL, else a local nats-server, else the embedded store)',
    flags: [
      ['--port <n>', 'HTTP port (default TETHER_PORT or 7420; 0 picks a free one)', { min: 0, max: 65_535 }],
      ['--bind <addr>', 'address to listen on (default 127.0.0.1)'],
      ['--no-supervise', 'run the server in this process: no restart after a crash or a hang'],
    ],
    // The supervisor loads no server code: it only starts `tether up --no-supervise` and watches it.
    run: async (out, _args, f) =>
      f.supervise === false
        ? (await import('./commands/up.ts')).up(out, f)
        : (await import('./supervisor.ts')).supervise(),
  },
  down: {
    summary: 'stop the tether running on this data folder (TETHER_HOME) and the nats-server it started',
    run: async (out) => (await import('./commands/down.ts')).down(out),
  },
  send: {
    summary: 'send one command through the gateway',
    args: ['<entity>', '<verb>'],
    flags: [
      ['--entity-id <id>', 'the entity (default: a new id)'],
      ['--id <command-id>', 'command id, for idempotent retries'],
      ['--data <json>', 'the command data as JSON'],
    ],
    run: async (out, [entity, verb], f) => (await import('./commands/send.ts')).send(out, entity, verb, f),
  },
  events: {
    summary: 'the event stream',
    subcommands: {
      tail: {
        summary: 'print events as they are appended',
        flags: [
          ['--entity <entity>', 'only this entity type'],
          ['--from-seq <n>', 'start at this stream sequence', { min: 1 }],
          ['--last <n>', 'start this many events back (default 10)', { min: 1 }],
          FOLLOW,
          NO_FOLLOW,
        ],
        run: async (out, _args, f) => (await import('./commands/events.ts')).eventsTail(out, f),
      },
    },
  },
  replay: {
    summary: 'every event of one entity with the state after it',
    args: ['<entity>', '<id>'],
    flags: [['--to-seq <n>', 'stop at this entity version', { min: 1 }]],
    run: async (out, [entity, id], f) => (await import('./commands/replay.ts')).replay(out, entity, id, f),
  },
  projections: {
    summary: 'read models',
    subcommands: {
      rebuild: {
        summary: 'rebuild a read model from the whole stream',
        args: ['<name>'],
        run: async (out, [name]) => (await projections()).projectionsCmd(out, 'rebuild', name),
      },
      status: {
        summary: 'lag of every read model',
        run: async (out) => (await projections()).projectionsCmd(out, 'status', undefined),
      },
    },
  },
  lane: {
    summary: 'lanes: a git worktree per piece of work',
    flags: [WORKSPACE],
    subcommands: {
      create: {
        summary: 'create a lane',
        flags: [
          ['--name <name>', 'display name (required)'],
          ['--project <id>', 'project context (default "default")'],
        ],
        run: lane('create'),
      },
      list: { summary: 'every lane of the workspace', run: lane('list') },
      show: { summary: 'one lane', args: ['<lane-id>'], run: lane('show') },
      attach: { summary: 'mark a lane in use and print its worktree', args: ['<lane-id>'], run: lane('attach') },
      cleanup: {
        summary: 'close its terminals, end its session, remove the worktree',
        args: ['<lane-id>'],
        flags: [REASON],
        run: lane('cleanup'),
      },
    },
  },
  session: {
    summary: "a lane's agent session",
    flags: [WORKSPACE, LANE],
    subcommands: {
      ensure: {
        summary: "the lane's session, started if there is none",
        flags: [
          ['--transport <t>', 'preferred transport'],
          ['--codex-session <id>', 'codex session id to continue'],
        ],
        run: async (out, _args, f) => (await controlPlane()).session(out, 'ensure', f),
      },
      list: {
        summary: "the lane's sessions",
        run: async (out, _args, f) => (await controlPlane()).session(out, 'list', f),
      },
    },
  },
  terminal: {
    summary: 'shells in tmux inside a lane',
    flags: [WORKSPACE],
    subcommands: {
      spawn: {
        summary: 'start a shell in the lane',
        flags: [LANE, ['--session <session-id>', 'the session it belongs to (required)'], ['--title <t>', 'title']],
        run: async (out, _args, f) => (await controlPlane()).terminal(out, 'spawn', undefined, f),
      },
      list: {
        summary: "the lane's terminals",
        flags: [LANE],
        run: async (out, _args, f) => (await controlPlane()).terminal(out, 'list', undefined, f),
      },
      attach: {
        summary: 'this terminal in tmux (on the machine where tether runs)',
        args: ['<terminal-id>'],
        run: async (out, [id], f) => (await controlPlane()).terminal(out, 'attach', id, f),
      },
    },
  },
  harness: {
    summary: 'the cliproxy harness route',
    subcommands: {
      status: {
        summary: 'its status and the route sessions take',
        flags: [['--check', 'probe it now']],
        run: async (out, _args, f) => (await controlPlane()).harness(out, 'status', f.check === true),
      },
    },
  },
  share: {
    summary: 'share a terminal: links, access, expiry',
    bare: {
      summary:
        'share the tether terminal this runs in (or --terminal T) and print its link; --new makes a lane, session and terminal to share and attaches you',
      flags: [
        ['--new', 'make a terminal to share: a new lane (or --lane), its session and a terminal; then attach you'],
        ['--lane <lane-id>', 'with --new: make it in this lane (its running terminal, if it has one)'],
        ['--terminal <terminal-id>', 'share this terminal (default: this one, TETHER_TERMINAL_ID)'],
        ['--name <viewer>', 'whose link it is (default "viewer"; tether share invite makes more)'],
        ['--access <access>', 'read (default) | write'],
        ['--ttl <duration>', 'how long, e.g. 30m'],
        ['--qr', 'print a QR code of the link too'],
        ['--no-attach', 'with --new: do not attach to the new terminal'],
        WORKSPACE,
      ],
      run: async (out, _args, f) => (await import('./commands/share-now.ts')).shareNow(out, f),
    },
    subcommands: {
      create: {
        summary: 'share a terminal',
        flags: [
          ['--terminal <terminal-id>', 'the terminal (required)'],
          ['--backend <backend>', 'native | tmate | upterm (default native)'],
          ['--access <access>', 'read | write'],
          ['--ttl <duration>', 'how long, e.g. 30m'],
          ['--name <viewer>', 'make a link for this viewer'],
        ],
        run: share('create'),
      },
      list: {
        summary: 'shares',
        flags: [
          ['--terminal <terminal-id>', 'of this terminal only'],
          ['--live', 'live ones only'],
        ],
        run: share('list'),
      },
      show: { summary: 'one share with its participants', args: ['<share-id>'], run: share('show') },
      links: { summary: "a tmate/upterm share's links", args: ['<share-id>'], run: share('links') },
      participants: { summary: "a share's participants", args: ['<share-id>'], run: share('participants') },
      extend: {
        summary: 'push the expiry out',
        args: ['<share-id>'],
        flags: [['--ttl <duration>', 'by how much, e.g. 15m (required)']],
        run: share('extend'),
      },
      revoke: { summary: 'end a share', args: ['<share-id>'], flags: [REASON], run: share('revoke') },
      switch: {
        summary: 'move a share to another backend',
        args: ['<share-id>'],
        flags: [['--backend <backend>', 'native | tmate | upterm (required)']],
        run: share('switch'),
      },
      invite: {
        summary: 'a link for one more viewer',
        args: ['<share-id>'],
        flags: [['--name <viewer>', 'who (required)']],
        run: share('invite'),
      },
      'grant-write': {
        summary: 'let a participant type, for a while',
        args: ['<share-id>', '<participant-id>'],
        flags: [['--ttl <duration>', 'how long, e.g. 15m']],
        run: share('grant-write'),
      },
      'revoke-write': {
        summary: 'read-only again',
        args: ['<share-id>', '<participant-id>'],
        flags: [REASON],
        run: share('revoke-write'),
      },
      kick: {
        summary: 'disconnect a participant for good',
        args: ['<share-id>', '<participant-id>'],
        flags: [REASON],
        run: share('kick'),
      },
    },
  },
  approval: {
    summary: 'share and handoff requests waiting for an operator',
    subcommands: {
      list: { summary: 'approvals', run: approval('list') },
      approve: {
        summary: 'approve one',
        args: ['<approval-id>'],
        flags: [['--note <text>', 'a note']],
        run: approval('approve'),
      },
      deny: {
        summary: 'deny one',
        args: ['<approval-id>'],
        flags: [['--reason <text>', 'why (required)']],
        run: approval('deny'),
      },
    },
  },
  token: {
    summary: 'credentials: who may use tether, as whom, in which role',
    subcommands: {
      create: {
        summary: 'create a credential and print its token once (operators)',
        flags: [
          ['--actor <who>', 'who it speaks for: human:alice, ai:codex-1, service:ci (required)'],
          ['--role <role>', 'operator, member, viewer, agent or service (required)'],
          ['--ttl <duration>', 'how long it works, e.g. 30d (default), 12h'],
          ['--label <text>', 'a note for the list'],
        ],
        run: async (out, _args, f) => (await tokens()).token(out, 'create', undefined, f),
      },
      list: {
        summary: 'every credential (never a token)',
        run: async (out) => (await tokens()).token(out, 'list', undefined, {}),
      },
      revoke: {
        summary: 'revoke a credential: it stops working at once',
        args: ['<credential-id>'],
        flags: [REASON],
        run: async (out, [id], f) => (await tokens()).token(out, 'revoke', id, f),
      },
    },
  },
  login: {
    summary: 'print a one-time link that signs the dashboard in as you',
    run: async (out) => (await tokens()).login(out),
  },
  handoff: {
    summary: "hand a terminal's keyboard to an agent or a person",
    subcommands: {
      request: {
        summary: 'hand a terminal over (the share policy decides; an operator may have to approve)',
        flags: [
          ['--terminal <terminal-id>', 'the terminal (required)'],
          ['--to <actor>', 'who gets the keyboard: ai:codex-1, human:alice (required)'],
          ['--note <text>', 'why, for the receiver and the approver'],
          ['--session <session-id>', "the receiver's writer session (default: one tether makes up)"],
        ],
        run: handoff('request'),
      },
      approve: {
        summary: 'approve a handoff a policy rule holds (not your own)',
        args: ['<handoff-id>'],
        flags: [['--note <text>', 'a note']],
        run: handoff('approve'),
      },
      deny: {
        summary: 'deny a held handoff',
        args: ['<handoff-id>'],
        flags: [['--reason <text>', 'why (required)']],
        run: handoff('deny'),
      },
      accept: {
        summary: 'take the keyboard of a handoff offered to you',
        args: ['<handoff-id>'],
        flags: [['--session <session-id>', 'type as this writer session']],
        run: handoff('accept'),
      },
      cancel: {
        summary: 'call a handoff off (requester or receiver)',
        args: ['<handoff-id>'],
        flags: [REASON],
        run: handoff('cancel'),
      },
      list: {
        summary: 'handoffs',
        flags: [
          ['--terminal <terminal-id>', 'of this terminal only'],
          ['--live', 'live ones only'],
        ],
        run: handoff('list'),
      },
      inbox: { summary: 'handoffs offered to you (your credential)', run: handoff('inbox') },
      show: { summary: 'one handoff with its captured context', args: ['<handoff-id>'], run: handoff('show') },
    },
  },
  recovery: {
    summary: 'crash recovery: runs, safe mode, orphans waiting for review',
    subcommands: {
      status: {
        summary: 'safe mode, whether a run is going on, and the latest run in one line',
        run: recovery('status'),
      },
      show: {
        summary: "one run: crashes, stages, each terminal's outcome, orphans",
        args: ['<recovery-id>'],
        run: recovery('show'),
      },
      review: { summary: 'orphans that wait for a decision (never cleaned by themselves)', run: recovery('review') },
      clean: {
        summary: 'clean orphans that wait for review: all of them, or the ids given (audited)',
        args: ['[orphan-id...]'],
        flags: [
          ['--reason <text>', 'why they may go, for the audit log (required)'],
          ['--all', 'every orphan waiting for review'],
          ['--run <recovery-id>', 'only those of this run'],
        ],
        run: recovery('clean'),
      },
      'leave-safe-mode': {
        summary: 'share workers, the harness monitor and new terminals start again (audited)',
        flags: [['--reason <text>', 'why it is safe now, for the audit log (required)']],
        run: recovery('leave-safe-mode'),
      },
    },
  },
  task: {
    summary: "agents' runs in lanes: watch, pause, take over, talk to them",
    subcommands: {
      run: {
        summary:
          'start an agent in a lane, in a terminal watched from its first line: task run --lane L -- <command> [args…]',
        args: ['<command...>'],
        flags: [
          LANE,
          ['--name <name>', 'shown in lists and on the dashboard (default: the program)'],
          ['--no-live', 'no live session (default: TETHER_LIVE_ENABLED)'],
        ],
        run: task('run'),
      },
      list: {
        summary: 'task runs with their status and live session',
        flags: [['--lane <lane-id>', 'of this lane only']],
        run: task('list'),
      },
      show: {
        summary: 'one run: status, pause, takeover, live session, heartbeat, write grants, messages, exit',
        args: [RUN],
        run: task('show'),
      },
      watch: {
        summary: "the run's terminal here, read-only, through your own live-session link (Ctrl-] detaches)",
        args: [RUN],
        flags: [['--print', 'print the link (or where to watch) instead of attaching']],
        run: task('watch'),
      },
      pause: {
        summary: 'pause the agent: at its next checkpoint, or at once with --hard (SIGSTOP)',
        args: [RUN],
        flags: [['--hard', 'stop its process group now (SIGSTOP)'], REASON],
        run: task('pause'),
      },
      resume: { summary: 'let a paused agent go on', args: [RUN], flags: [REASON], run: task('resume') },
      takeover: {
        summary: 'take the keyboard: the agent is paused and you get a read-write link until the grant expires',
        args: [RUN],
        flags: [['--soft', "pause at the agent's next checkpoint instead of SIGSTOP"], REASON],
        run: task('takeover'),
      },
      release: {
        summary: "give the keyboard back: your summary goes to the agent's inbox and it runs again",
        args: [RUN],
        flags: [['--summary <text>', 'what you did, for the agent (required)']],
        run: task('release'),
      },
      cancel: {
        summary: 'stop the run (also while paused)',
        args: [RUN],
        flags: [REASON],
        run: task('cancel'),
      },
      message: {
        summary: 'send the agent a message: its inbox file, the inbox pane and tether.task.<run>.inbox',
        args: [RUN, '<text...>'],
        run: task('message'),
      },
    },
  },
  attach: {
    summary: 'watch (and, once granted, type into) a shared terminal',
    args: ['<share-link>'],
    run: async (out, [link]) => (await import('./commands/attach.ts')).attach(out, link),
  },
  play: {
    summary: "play a recording (a task run's terminal, or a shared one) in this terminal",
    args: ['<task-run|terminal>'],
    flags: [['--speed <n>', 'playback speed, a positive number (default 1; idle gaps are capped at 2 s)']],
    run: async (out, [name], f) => (await import('./commands/play.ts')).play(out, name, f),
  },
  audit: {
    summary: 'the audit log',
    subcommands: {
      tail: {
        summary: 'the newest records, then new ones as they are written',
        flags: [
          ['--entity <entity>', 'only this entity type'],
          ['--id <id>', 'only this entity'],
          ['--last <n>', 'how many to start with (default 20)', { min: 1, max: 1_000 }],
          FOLLOW,
          NO_FOLLOW,
        ],
        run: async (out, _args, f) => (await audit()).audit(out, 'tail', f),
      },
      verify: {
        summary: 'check the hash chain',
        run: async (out, _args, f) => (await audit()).audit(out, 'verify', f),
      },
    },
  },
  policy: {
    summary: 'the share policy in force (operators): which file, its rules; load it again',
    subcommands: {
      show: {
        summary: 'the policy file in force (or the built-in default), its rules, what it watches',
        run: async (out) => (await import('./commands/policy.ts')).policy(out, 'show'),
      },
      reload: {
        summary: 'load the policy file again (audited); a bad file is refused with why and the policy in force stays',
        run: async (out) => (await import('./commands/policy.ts')).policy(out, 'reload'),
      },
    },
  },
  config: {
    summary: 'the effective configuration and where each value came from',
    run: async (out, _args, f) => (await import('./commands/config.ts')).configCmd(out, f),
  },
  completion: {
    summary: 'a completion script: eval "$(tether completion bash)" (or zsh)',
    args: [{ spec: '<shell>', choices: ['bash', 'zsh'] }],
    run: async (_out, [shell]) => (await import('./completion.ts')).printCompletion(shell, COMMANDS),
  },
};
