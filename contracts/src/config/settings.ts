import { z } from 'zod';
import { TetherError } from '../errors.ts';
import { duration, type Env, flag, integer, port, secret, type Setting, setting, text, url } from './kinds.ts';

export type { Env, Setting, SettingScope } from './kinds.ts';
export { formatDuration } from './kinds.ts';

// Every setting tether reads from its environment, parsed once at start. Pure: the caller passes the
// environment in (parseConfig(process.env)); nothing here reads process.env.

/** Every setting, by its environment variable. */
export const settings = {
  NATS_URL: setting({
    // nats.js ignores a user or password in the URL, and a URL is logged and printed: credentials have their own settings.
    schema: z
      .string()
      .refine((v) => !v.includes('@'), 'holds a user or password, which the NATS client would ignore')
      .optional(),
    type: 'url list',
    expects:
      'nats://host:port, or several separated by commas, with the user in TETHER_NATS_USER and the password in TETHER_NATS_PASSWORD',
    description: 'NATS server(s) with JetStream holding the event log, e.g. nats://127.0.0.1:4222',
    scope: 'both',
  }),
  TETHER_NATS_USER: text('NATS user tether connects as, with TETHER_NATS_PASSWORD (infra/nats/roles.conf: "tether")', {
    scope: 'both',
    expects: 'a NATS user name, together with TETHER_NATS_PASSWORD',
  }),
  TETHER_NATS_PASSWORD: {
    ...secret('Password of TETHER_NATS_USER; never printed or logged', { scope: 'both' }),
    expects: 'the password of TETHER_NATS_USER, together with it',
  },
  TETHER_HOME: text(
    'Data folder: embedded store, local nats-server, worktrees, tmux socket, logs, keys (secret.key, audit.key)',
    {
      scope: 'both',
      type: 'path',
      default: '.tether',
    },
  ),
  TETHER_PORT: port(7420, 'HTTP port of `tether up` (0: any free port; --port wins); the default TETHER_URL uses it', {
    scope: 'both',
    min: 0,
  }),
  TETHER_URL: {
    ...url('Where CLI commands find a running tether', { scope: 'cli', default: 'http://127.0.0.1:$TETHER_PORT' }),
    derive: (c) => (c.TETHER_PORT === undefined ? undefined : `http://127.0.0.1:${c.TETHER_PORT}`),
  },
  TETHER_TOKEN: {
    ...text('The credential CLI commands send (`tether token create` makes one)', {
      scope: 'cli',
      type: 'token',
      expects: 'a token tth_…',
    }),
    default: "the owner's, in $TETHER_HOME/credential",
    secret: true as const,
  },
  TETHER_WORKSPACE: text('Workspace of the lane, session and terminal commands (--workspace wins)', {
    scope: 'cli',
    default: 'default',
  }),
  TETHER_LOG_LEVEL: setting({
    schema: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'not a log level' })
      .default('info'),
    type: 'level',
    default: 'info',
    expects: 'fatal, error, warn, info, debug, trace or silent',
    description: 'How much tether logs (JSON lines on stderr)',
    scope: 'both',
  }),
  TETHER_LOG_FORMAT: setting({
    schema: z.enum(['json', 'pretty'], { error: 'not a log format' }).optional(),
    type: 'format',
    expects: 'json or pretty',
    description:
      'How log lines on stderr look: pretty (pino-pretty) or JSON lines; unset, pretty when stderr is a terminal and JSON otherwise',
    scope: 'both',
  }),
  TETHER_REPLICAS: integer(1, 'Replicas of the JetStream streams and buckets tether creates (3 on a cluster)', {
    scope: 'both',
    min: 1,
    max: 5,
    unit: 'replicas',
  }),
  TETHER_NO_CHILD_NATS: flag('Never start a local nats-server: without NATS_URL, use the embedded store', 'server'),
  TETHER_WORKSPACES: setting({
    schema: z
      .string()
      .regex(/^([^=,]+=[^,]+)(,[^=,]+=[^,]+)*,?$/, 'not a list of id=/path/to/repo')
      .optional(),
    type: 'id=path,…',
    default: '"default" = the repository tether runs in',
    expects: 'id=/path/to/repo, several separated by commas',
    description: 'Git repositories lanes are worktrees of, by workspace id',
    scope: 'server',
  }),
  TETHER_TLS_CERT: text('TLS certificate (PEM) of the gateway; with TETHER_TLS_KEY, tether serves https', {
    scope: 'server',
    type: 'path',
  }),
  TETHER_TLS_KEY: text('TLS private key (PEM) of the gateway, for TETHER_TLS_CERT', { scope: 'server', type: 'path' }),
  TETHER_PUBLIC_URL: url('Base URL of participant links (set it behind a proxy)', {
    scope: 'server',
    default: 'the address tether listens on',
  }),
  TETHER_COMMAND_RETENTION_MS: duration(
    7 * 24 * 3_600_000,
    'How long a command id is remembered with its result: a resend within it gets the original reply, after it a COMMAND_EXPIRED error',
  ),
  TETHER_DUPLICATE_WINDOW_MS: duration(
    2 * 60_000,
    "JetStream's duplicate window on event appends (msgID); resends past it are answered from the command ledger",
  ),
  TETHER_SESSION_HEARTBEAT_MS: duration(60_000, 'A session without a heartbeat for this long is detached'),
  TETHER_SHELL: {
    ...text('The command each new terminal runs (a shell command line, e.g. "bash --login")', {
      scope: 'server',
      type: 'command',
      expects: 'a shell command line, e.g. /bin/bash or "zsh -l"',
    }),
    default: '$SHELL, else /bin/bash',
    derive: (_c: Record<string, unknown>, env: Env) => env.SHELL || '/bin/bash',
  },
  TETHER_CHECKPOINT_INTERVAL_MS: duration(
    5_000,
    'Shortest time between two checkpoints of one terminal (its cwd and scrollback, taken when it prints)',
    { min: 250 },
  ),
  TETHER_CHECKPOINT_SCROLLBACK_BYTES: integer(256 * 1024, "Scrollback a terminal's checkpoint keeps (its last bytes)", {
    min: 1_024,
    max: 16 * 1024 * 1024,
    unit: 'bytes',
  }),
  TETHER_RECOVERY_HOLD_MS: duration(
    30_000,
    'How long a command that creates or changes terminals waits for a recovery run to be live before RECOVERING',
    { min: 0 },
  ),
  TETHER_RECOVERY_CONCURRENCY: integer(8, 'Terminals a recovery run respawns at once', {
    min: 1,
    max: 64,
    unit: 'terminals',
  }),
  TETHER_HEARTBEAT_MS: duration(10_000, "How often a running tether records its instance's heartbeat", { min: 500 }),
  TETHER_SUPERVISOR_TIMEOUT_MS: duration(
    15_000,
    'The supervisor of `tether up` restarts a server that sends no heartbeat for this long',
    { min: 1_000 },
  ),
  TETHER_SAFE_MODE: flag('Start in safe mode: no share workers, no harness monitor, no new terminals', 'server'),
  TETHER_TERMINAL_MAX_BPS: integer(2_000_000, 'Output rate above which a terminal is throttled', {
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    unit: 'bytes/s',
  }),
  TETHER_HARNESS_URL: url('Base URL of the cliproxy harness; unset: sessions use native OpenAI', { scope: 'server' }),
  TETHER_HARNESS_HEALTH_URL: url('Health endpoint of the harness', {
    scope: 'server',
    default: '$TETHER_HARNESS_URL/health',
  }),
  TETHER_HARNESS_CHECK_MS: duration(5_000, 'How often the harness is checked'),
  TETHER_HARNESS_SLOW_MS: duration(2_000, 'A harness check slower than this degrades the route'),
  TETHER_HARNESS_COOLDOWN_MS: duration(10_000, 'How long after a change the harness route may recover', { min: 0 }),
  TETHER_SHARE_POLICY: {
    ...text('Share policy file: JSON rules of who may share which terminal, how, and hand it to whom', {
      scope: 'server',
      type: 'path',
    }),
    default:
      '$TETHER_HOME/share-policy.json if present, else built in (people share, write on native; a keyboard to people, or agents if approved)',
  },
  TETHER_SHARE_TTL_MS: duration(30 * 60_000, 'Lifetime of a share whose request names none'),
  TETHER_SHARE_MIN_TTL_MS: duration(60_000, 'Shortest share lifetime a request may ask for'),
  TETHER_SHARE_MAX_TTL_MS: duration(4 * 3_600_000, 'Longest share lifetime, extensions included'),
  TETHER_SHARE_WARN_MS: duration(5 * 60_000, 'Participants are warned this long before a share expires', { min: 0 }),
  TETHER_SHARE_MAX_PER_TERMINAL: integer(3, 'Live shares one terminal may have', {
    min: 1,
    max: 1_000,
    unit: 'shares',
  }),
  TETHER_APPROVAL_TIMEOUT_MS: duration(15 * 60_000, 'A share or handoff held for approval is denied after this long'),
  TETHER_HANDOFF_OFFER_TTL_MS: duration(15 * 60_000, 'How long the receiver of a handoff has to accept it', {
    max: 86_400_000,
  }),
  TETHER_LIVE_ENABLED: flag(
    'Task runs start a live session unless the request says `live: false`; 0: live sessions are refused (LIVE_DISABLED) and runs go headless',
    'server',
    true,
  ),
  TETHER_LIVE_PROVIDER: setting({
    schema: z.enum(['native', 'tmate'], { error: 'not a live-session provider' }).default('native'),
    type: 'provider',
    default: 'native',
    expects: 'native or tmate',
    description: "How live sessions are served: tether's relay (per-person links, in-page viewer) or tmate",
    scope: 'server',
  }),
  TETHER_LIVE_TTL: duration(60 * 60_000, 'Lifetime of a live session (a durable deadline)', {
    min: 1_000,
    max: 7 * 86_400_000,
  }),
  TETHER_LIVE_RW_TTL: duration(15 * 60_000, 'Lifetime of a write grant in a live session (takeover, grant-write)', {
    min: 1_000,
    max: 7 * 86_400_000,
  }),
  TETHER_LIVE_ALLOW_WEB: flag(
    'Live sessions may hand out web links (the in-page viewer, tmate web); 0: terminal attach only (`tether attach`, ssh)',
    'server',
    true,
  ),
  TETHER_LIVE_RELAY_HOST: text('tmate-ssh-server for live sessions, host or host:port (default TETHER_TMATE_HOST)', {
    scope: 'server',
    type: 'host',
  }),
  TETHER_LIVE_MAX_PER_WORKER: integer(8, 'Live sessions one tether serves at once; more go to ERROR with the reason', {
    min: 1,
    max: 1_000,
    unit: 'sessions',
  }),
  TETHER_LIVE_HEARTBEAT_MS: duration(10_000, "How often a live session's worker heartbeats (three missed end it)", {
    min: 100,
  }),
  TETHER_RECORDING_RETENTION_MS: duration(7 * 86_400_000, 'Recordings of terminals are deleted after this long', {
    min: 60_000,
  }),
  TETHER_RECORDING_MAX_BYTES: integer(64 * 1024 * 1024, 'A recording stops growing at this size (its end says so)', {
    min: 1_024,
    max: Number.MAX_SAFE_INTEGER,
    unit: 'bytes',
  }),
  TETHER_SHARE_READY_MS: duration(10_000, 'How long a tmate or upterm share may take to start'),
  TETHER_SHARE_HEARTBEAT_MS: duration(1_000, 'How often a tmate or upterm share worker is probed'),
  TETHER_TMATE_BIN: text('tmate binary, a name on PATH or a path', { scope: 'server', type: 'path', default: 'tmate' }),
  TETHER_TMATE_HOST: text('Self-hosted tmate-ssh-server (tmate shares need one; the public relay is retired)', {
    scope: 'server',
    type: 'host',
  }),
  TETHER_TMATE_PORT: port(22, 'SSH port of the tmate server', { scope: 'server', min: 1 }),
  TETHER_TMATE_RSA_FINGERPRINT: text('RSA host key fingerprint of the tmate server (this or the Ed25519 one)', {
    scope: 'server',
    expects: 'SHA256:…',
  }),
  TETHER_TMATE_ED25519_FINGERPRINT: text('Ed25519 host key fingerprint of the tmate server, e.g. SHA256:…', {
    scope: 'server',
    expects: 'SHA256:…',
  }),
  TETHER_UPTERM_BIN: text('upterm binary, a name on PATH or a path', {
    scope: 'server',
    type: 'path',
    default: 'upterm',
  }),
  TETHER_UPTERM_SERVER: text("uptermd address, e.g. ssh://uptermd.example.com:22 (unset: upterm's own default)", {
    scope: 'server',
  }),
  TETHER_UPTERM_KNOWN_HOSTS: text("known_hosts file holding the uptermd server's host key", {
    scope: 'server',
    type: 'path',
  }),
  TETHER_STREAM_ENDED_WINDOW_MS: duration(
    3_600_000,
    "The live stream's first snapshot leaves out actors that ended longer ago than this (ended shares, closed lanes, terminated sessions, closed terminals, decided approvals, finished handoffs and task runs); the API lists them",
    { min: 0 },
  ),
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;
type Schemas = { [K in SettingName]: (typeof settings)[K]['schema'] };

const names = Object.keys(settings) as SettingName[];
const shareTtls = ['TETHER_SHARE_MIN_TTL_MS', 'TETHER_SHARE_TTL_MS', 'TETHER_SHARE_MAX_TTL_MS'] as const;

/** Every setting parsed from its variable's text; a share TTL default outside its bounds is refused too. */
export const TetherConfig = z
  .object(Object.fromEntries(names.map((k) => [k, settings[k].schema])) as Schemas)
  .superRefine((c, ctx) => {
    const [min, ttl, max] = shareTtls.map((k) => c[k]);
    if (!(min! <= ttl! && ttl! <= max!))
      ctx.addIssue({
        code: 'custom',
        path: ['TETHER_SHARE_TTL_MS'],
        message: `${ttl} ms is not between TETHER_SHARE_MIN_TTL_MS (${min}) and TETHER_SHARE_MAX_TTL_MS (${max})`,
      });
    // A user without its password (or the reverse) would fail at connect with a vaguer "Authorization Violation".
    const [user, password] = [c.TETHER_NATS_USER, c.TETHER_NATS_PASSWORD];
    if (Boolean(user) !== Boolean(password))
      ctx.addIssue({
        code: 'custom',
        path: [user ? 'TETHER_NATS_USER' : 'TETHER_NATS_PASSWORD'],
        message: `set without ${user ? 'TETHER_NATS_PASSWORD' : 'TETHER_NATS_USER'}`,
      });
  });
/** The effective configuration; derived and text defaults (TETHER_URL, TETHER_HOME, TETHER_WORKSPACE, TETHER_SHELL) always hold a value. */
export type TetherConfig = z.output<typeof TetherConfig> & {
  TETHER_URL: string;
  TETHER_HOME: string;
  TETHER_WORKSPACE: string;
  TETHER_SHELL: string;
};

export type ConfigSource = 'env' | 'default';
export interface ConfigProblem {
  name: SettingName;
  value: string;
  message: string;
}

/** What the environment sets: "" counts as unset for text, but is an error for a number or a duration. */
function given(env: Env): Partial<Record<SettingName, string>> {
  const out: Partial<Record<SettingName, string>> = {};
  for (const k of names) {
    const v = env[k];
    if (v !== undefined && (v !== '' || (settings[k] as Setting).numeric)) out[k] = v;
  }
  return out;
}

/**
 * Reads every setting without throwing: the values (defaults where unset), where each came from, and
 * the problems. `tether config` shows all three; parseConfig refuses to go on with a problem.
 */
export function readConfig(env: Env): {
  config: Partial<TetherConfig>;
  sources: Record<SettingName, ConfigSource>;
  problems: ConfigProblem[];
} {
  const raw = given(env);
  const sources = Object.fromEntries(names.map((k) => [k, k in raw ? 'env' : 'default'])) as Record<
    SettingName,
    ConfigSource
  >;
  const problems: ConfigProblem[] = [];
  const config: Record<string, unknown> = {};
  // Each setting on its own, so one bad value does not hide the others' values.
  for (const k of names) {
    const r = settings[k].schema.safeParse(raw[k]);
    if (r.success) config[k] = r.data;
    else problems.push(problem(k, raw[k] ?? '', r.error.issues[0]?.message ?? 'invalid'));
  }
  if (problems.length === 0) {
    const all = TetherConfig.safeParse(raw);
    if (!all.success)
      for (const i of all.error.issues)
        problems.push(problem(i.path[0] as SettingName, raw[i.path[0] as SettingName] ?? '', i.message));
  }
  for (const k of names) if (config[k] === undefined) config[k] = settings[k].derive?.(config, env);
  return { config: config as Partial<TetherConfig>, sources, problems };
}

/**
 * The configuration tether runs with, or INVALID_CONFIG naming every bad variable and what to set instead.
 * `for: 'cli'` checks only what a CLI command reads (a bad server-only value is `tether up`'s to refuse).
 */
export function parseConfig(
  env: Env,
  opts: { for?: 'cli' } = {},
): { config: TetherConfig; sources: Record<SettingName, ConfigSource> } {
  const { config, sources, problems } = readConfig(env);
  const relevant = opts.for === 'cli' ? problems.filter((p) => settings[p.name].scope !== 'server') : problems;
  if (relevant.length > 0) throw configError(relevant);
  return { config: config as TetherConfig, sources };
}

/** The settings that hold a secret (TETHER_NATS_PASSWORD): kept out of the environment of what tether starts. */
export const secretSettings = names.filter((k) => (settings[k] as Setting).secret);

/** A setting's value as it may be shown: a secret as ***, a password inside a URL (nats://ann:secret@host) as ***. */
export function shownValue(name: SettingName, value: string): string {
  if ((settings[name] as Setting).secret) return '***';
  return value.replace(/(\/\/[^/:@\s]+:)[^@/\s]+@/g, '$1***@');
}

export function configError(problems: ConfigProblem[]): TetherError {
  const lines = problems.map((p) => `  ${p.name}=${JSON.stringify(p.value)}: ${p.message}`);
  return new TetherError(
    'INVALID_CONFIG',
    `invalid configuration (${problems.length} setting${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    { issues: problems.map((p) => ({ path: [p.name], message: p.message })) },
  );
}

function problem(name: SettingName, value: string, what: string): ConfigProblem {
  const s: Setting = settings[name];
  const empty = value === '' ? 'empty' : what;
  const fallback = s.default !== undefined ? `, or unset it for the default (${s.default})` : ', or unset it';
  return { name, value: shownValue(name, value), message: `${empty}; set ${s.expects}${fallback}` };
}
