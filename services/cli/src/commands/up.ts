import { parseConfig } from '@tether/contracts';
import { createLogger, logFormat, type Logger } from '@tether/runtime';
import { recoveryView } from '@tether/projector';
import { startServer } from '../server.ts';
import { dataDir } from '../data-dir.ts';
import { localNatsPids, stopLocalNatsNow } from '../local-nats.ts';
import { claimRun } from '../run-state.ts';
import { supervisorLink } from '../supervisor.ts';
import { openStoreForServer } from '../store.ts';
import type { Out } from '../output.ts';

/** The startup hint: the README's quick start begins with it (a test keeps the two the same). */
export const FIRST_STEP = 'npx tether lane create --name "Fix login"';

/** A clean stop takes well under 2 s; past this, tether exits anyway (status 1) rather than linger. */
const HARD_STOP_MS = 10_000;

export async function up(out: Out, flags: { port?: number; bind?: string }): Promise<number> {
  // Started by `tether up`'s supervisor: heartbeats from here on, so a start that hangs is seen too.
  const supervisor = supervisorLink();
  let listening = false;
  try {
    return await serve(out, flags, () => {
      listening = true;
      supervisor?.ready();
    });
  } catch (err) {
    if (!listening) await supervisor?.failed(err); // before its error is printed and the process ends
    throw err;
  } finally {
    supervisor?.stop();
  }
}

async function serve(out: Out, flags: { port?: number; bind?: string }, listens: () => void): Promise<number> {
  // Every setting is parsed once, here, and --port while parsing the command line: a bad value stops
  // the start before anything is opened.
  const { config } = parseConfig(process.env);
  const log = createLogger('tether', config.TETHER_LOG_LEVEL, logFormat(config.TETHER_LOG_FORMAT));
  const port = flags.port ?? config.TETHER_PORT;
  const home = dataDir();
  const stopRequested = stopSignals(log);
  const run = claimRun(home);
  // Without NATS_URL, a local nats-server of this data folder is this tether's (started or adopted: it holds
  // the folder). Whatever ends this process (a failed start, the hard stop, a second signal, a crash in a
  // handler) leaves no run file and no such nats-server behind; only a SIGKILL does, and the next
  // `tether up` (or `tether down`) takes that one over.
  let natsStopped = Boolean(config.NATS_URL);
  const onExit = () => {
    if (!natsStopped) stopLocalNatsNow(home);
    run.release();
  };
  process.once('exit', onExit);
  try {
    const opened = await openStoreForServer(log, config);
    const stopStore = async () => {
      await opened.stop(); // closes the store, then stops a local nats-server
      natsStopped = true;
    };
    const progress = recoveryProgress(out, log);
    // A failed start has stopped what it started; the store goes too, so the process ends with the error.
    const server = await startServer({
      store: opened.store,
      logger: log,
      config,
      port,
      bind: flags.bind,
      home,
      protectedPids: () => localNatsPids(home),
      onRecoveryStep: progress.step,
    }).catch(async (err) => {
      await stopStore();
      throw err;
    });
    run.ready(server.url);
    listens();
    log.info(
      { subsystem: 'http', url: server.url, openapi: `${server.url}/openapi.json`, natsBus: server.natsBus },
      `http: listening at ${server.url}${server.natsBus ? ' (commands also on NATS tether.cmd.<entity>.<verb>)' : ''}`,
    );
    const { mode, natsUrl } = opened;
    const login = await server.loginLink();
    const exposed = flags.bind && !isLoopback(flags.bind);
    if (exposed && !server.url.startsWith('https:'))
      log.warn(
        { bind: flags.bind },
        'listening on a non-loopback address without TLS: tokens and cookies cross the network in clear text; set TETHER_TLS_CERT and TETHER_TLS_KEY, or put tether behind a TLS reverse proxy',
      );
    out.print(
      [
        `tether is up (stop it with Ctrl-C or \`tether down\`)`,
        ...(exposed && !server.url.startsWith('https:')
          ? [
              `  WARNING    ${flags.bind} is reachable from the network and this is plain http: set TETHER_TLS_CERT/TETHER_TLS_KEY`,
            ]
          : []),
        `  dashboard  ${login.url}`,
        `             (a one-time sign-in link; \`tether login\` prints another)`,
        `  api        ${server.url}  (OpenAPI at ${server.url}/openapi.json, metrics at ${server.url}/metrics)`,
        `  store      ${mode === 'embedded' ? 'embedded (single process)' : `JetStream at ${natsUrl}`}`,
        `  commands   ${server.natsBus ? 'NATS tether.cmd.<entity>.<verb> and ' : ''}POST ${server.url}/v1/commands/<entity>/<verb>`,
        `  token      ${home}/credential (the owner's; the CLI here uses it, \`tether token create\` makes more)`,
        `  try        ${FIRST_STEP}   (the README's quick start goes on from there)`,
      ].join('\n'),
      {
        ok: true,
        url: server.url,
        dashboard: `${server.url}/`,
        loginUrl: login.url,
        store: mode,
        natsUrl: natsUrl ?? null,
        pid: process.pid,
      },
    );
    void server.recovered.then(progress.end, (err) => log.error({ err: String(err) }, 'recovery run failed'));
    await stopRequested;
    const started = Date.now();
    await server.stop();
    await stopStore();
    log.info({ ms: Date.now() - started }, 'tether stopped');
    return 0;
  } finally {
    process.off('exit', onExit);
    onExit();
  }
}

/**
 * How `tether up` tells of its recovery run: a line per stage and the summary in the terminal, log
 * lines under --json (stdout holds one JSON document).
 */
function recoveryProgress(out: Out, log: Logger) {
  let last = '';
  const say = (line: string, fields: object) => {
    if (line === last) return;
    last = line;
    if (out.json) log.info(fields, line);
    else out.print(`  recovery   ${line}`, fields);
  };
  return {
    step(run: RecoveryRun) {
      const v = recoveryView(run);
      say(v.stage_text, { recoveryId: v.recovery_id, stage: v.status, progress: v.progress });
    },
    end(run: RecoveryRun | undefined) {
      if (!run) return;
      const v = recoveryView(run);
      const review = v.orphans?.needs_review.length ?? 0;
      const lines = [
        ...v.result.failed.map((f) => `  lost ${f.terminal}: ${f.reason}`),
        ...(v.orphans
          ? [
              `  orphans: ${v.orphans.cleanup.terminated} ended, ${v.orphans.cleanup.removed} removed, ${review} need review`,
            ]
          : []),
        ...(review > 0 ? ['  `tether recovery review` lists them'] : []),
        ...(v.safe_mode?.active ? [`  SAFE MODE (${v.safe_mode.reason}): ${v.safe_mode.leave}`] : []),
      ];
      // The last stage's line is the summary's first: said once, then what it adds.
      const head = last === v.stage_text ? [] : [v.stage_text];
      if (head.length + lines.length > 0)
        say([...head, ...lines].join('\n           '), {
          recoveryId: v.recovery_id,
          stage: v.status,
          result: v.result,
        });
    },
  };
}

type RecoveryRun = Parameters<typeof recoveryView>[0];

const isLoopback = (addr: string) => /^(127\.|::1$|localhost$)/.test(addr);

/**
 * Resolves at the first SIGINT, SIGTERM or SIGHUP (also one that arrives while tether starts: it stops
 * right after). From then on tether has HARD_STOP_MS to stop; a second signal ends it at once.
 */
function stopSignals(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down');
      const hard = setTimeout(() => {
        log.error(`shutdown took over ${HARD_STOP_MS / 1000} s; exiting`);
        process.exit(1);
      }, HARD_STOP_MS);
      hard.unref();
      for (const s of SIGNALS) process.off(s, first).once(s, again);
      resolve();
    };
    const again = (signal: NodeJS.Signals) => {
      log.warn({ signal }, 'second signal: exiting without a clean stop');
      process.exit(130);
    };
    for (const s of SIGNALS) process.once(s, first);
  });
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
