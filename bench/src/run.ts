import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { registry } from '@tether/machines';
import { JetStreamEventStore, encodeJson } from '@tether/runtime';
import { NatsServer, TetherProcess } from '@tether/tests';
import { consumerName } from '@tether/projector';
import { startBareHost } from './bare-host.ts';
import { measureCommandSteps } from './breakdown.ts';
import { benchCliAlone, measureCli } from './cli.ts';
import { measureCommands } from './commands.ts';
import { measureControlPlane } from './control-plane.ts';
import { measurePolicyDecision } from './policy.ts';
import { measureSharing } from './sharing.ts';
import { benchHandoffAlone, measureHandoff } from './handoff.ts';
import { benchAuthAlone, measureAuthOverhead } from './auth.ts';
import { benchOrphansAlone, measureOrphanScan } from './orphans.ts';
import { benchRecoveryAlone, measureRecovery } from './recovery.ts';
import { benchLiveAlone, measureLive } from './live.ts';
import { benchRecordingAlone, measureRecordingOverhead } from './recording.ts';
import { benchBrowserAlone, measureBrowser } from './browser.ts';
import { natsServerPid } from './cpu.ts';
import { echoRoundTrips } from './echo.ts';
import { leaseEvent } from './envelope.ts';
import { createRawStream, measureRawPublishes } from './raw.ts';
import { measureReplay } from './replay.ts';
import { benchResendAlone, measureResend } from './resend.ts';
import { benchResumeAlone, measureResume } from './resume.ts';
import { TARGETS, formatTable, writeResults, type Results } from './report.ts';
import { log } from './timing.ts';

// `npm run bench`: one nats-server, the raw engine and tether measured against it in the same run.

const N = {
  rawAwaited: 5_000,
  rawPipelined: 20_000,
  window: 64,
  commandsAwaited: 3_000,
  commandsPipelined: 20_000,
  awaitedEntities: 100,
  pipelinedEntities: 1_000,
  replayEntities: 1_000,
  replayEventsPerEntity: 100,
};
const N_BARE = {
  awaited: 2_000,
  pipelined: 10_000,
  window: N.window,
  awaitedEntities: N.awaitedEntities,
  pipelinedEntities: N.pipelinedEntities,
};
const RESULTS = fileURLToPath(new URL('../results.json', import.meta.url));

async function main() {
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  try {
    const nats = await NatsServer.start();
    cleanup.unshift(() => nats.dispose());
    const nc = await connect({ servers: nats.url, name: 'bench-client' });
    cleanup.unshift(() => nc.close());
    const responder = await connect({ servers: nats.url, name: 'bench-responder' });
    cleanup.unshift(() => responder.close());
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const pids = { 'nats-server': natsServerPid(nats.port), bench: process.pid };
    const loadBefore = loadavg()[0]!;
    log(
      `nats-server ${nc.info?.version} on ${nats.url}, node ${process.version}, ${cpus().length} cpus, load average ${loadBefore.toFixed(2)}`,
    );

    // 1-2. Raw JetStream publishes of a tether-sized event: before the tether phases and again
    // after them (tether stopped); the baseline is their mean, so drift on the machine hits both sides.
    const event = encodeJson(leaseEvent('pl-00001-abcdef12', 2, new Date().toISOString()));
    const rawN = { awaited: N.rawAwaited, pipelined: N.rawPipelined, window: N.window };
    await createRawStream(jsm);
    const rawRuns = [await measureRawPublishes(js, event, rawN, pids)];

    // 7a. The transport alone: NATS request/reply with command- and reply-sized payloads.
    log('NATS request/reply echo');
    const sizes = {
      request: JSON.stringify({ entityId: 'pl-00001-abcdef12' }).length,
      reply: JSON.stringify({
        ok: true,
        commandId: crypto.randomUUID(),
        entity: 'lease',
        entityId: 'pl-00001-abcdef12',
        seq: 2,
        streamSeq: 123456,
        state: 'held',
        correlationId: crypto.randomUUID(),
        duplicate: false,
      }).length,
    };
    const transport = await echoRoundTrips(nc, responder, sizes, {
      awaited: N.commandsAwaited,
      pipelined: N.commandsPipelined,
      window: N.window,
    });

    // 4-5. Commands through one `tether up` child process.
    const home = mkdtempSync(join(tmpdir(), 'tether-bench-home-'));
    cleanup.unshift(() => rmSync(home, { recursive: true, force: true }));
    log('starting tether up');
    const tether = await TetherProcess.start({ NATS_URL: nats.url, TETHER_LOG_LEVEL: 'warn', TETHER_HOME: home });
    cleanup.unshift(() => tether.kill('SIGKILL'));
    const commands = await measureCommands(nc, jsm, {
      awaited: N.commandsAwaited,
      pipelined: N.commandsPipelined,
      window: N.window,
      awaitedEntities: N.awaitedEntities,
      pipelinedEntities: N.pipelinedEntities,
      pids: { ...pids, tether: tether.proc.pid },
      lagOf: consumerName('actors'),
      credential: tether.token,
    });
    // Stop it: its projection would otherwise chew on the replay history below.
    if (!(await exitsWithin(tether.kill('SIGTERM'), 10_000))) {
      log('tether up did not exit within 10 s of SIGTERM; killing it');
      await tether.kill('SIGKILL');
    }
    if (tether.logs.trim()) log(`tether up logged:\n${tether.logs.trim().slice(-2000)}`);

    rawRuns.push(await measureRawPublishes(js, event, rawN, pids));
    const mean = (f: (r: (typeof rawRuns)[number]) => number) =>
      rawRuns.reduce((sum, r) => sum + f(r), 0) / rawRuns.length;
    const rawPublishPerSec = mean((r) => r.awaitedPerSec);
    const rawPipelinedPerSec = mean((r) => r.pipelinedPerSec);

    // 7b. The same commands against a bare ActorHost process (no projection, timers or snapshots).
    log('bare host (ActorHost + serveCommands only) for the breakdown');
    const bare = await startBareHost(nats.url, { auth: true });
    cleanup.unshift(() => bare.stop());
    const bareHost = await measureCommands(nc, jsm, {
      ...N_BARE,
      pids: { ...pids, host: bare.pid },
      credential: bare.credential,
    });
    await bare.stop();
    // authOverheadPct: bare hosts with and without credential checks, alternating.
    const auth = await measureAuthOverhead(nats.url);

    // 6 (+3). Rebuild every actor from 100k events vs the raw ordered read of the same events.
    const store = await JetStreamEventStore.open(nats.url, { name: 'bench-replay' });
    cleanup.unshift(() => store.close());
    const replay = await measureReplay(store, js, registry, {
      entities: N.replayEntities,
      eventsPerEntity: N.replayEventsPerEntity,
      window: 256,
      sample: 25,
      rounds: 2,
    });

    // 8. The control plane: lanes with real worktrees, shells in tmux, harness failover.
    const controlPlane = await measureControlPlane(nats.url);
    log('share policy decisions at 500 rules');
    const policy = measurePolicyDecision();
    // 9. Native shares: request → link, revoke → 10 viewers gone, memory per live share.
    const sharing = await measureSharing(nats.url);
    // 9b. Handoffs without approval: request → the agent accepts its offer → completed.
    const handoff = await measureHandoff(nats.url);
    // 10. The CLI's start-up: `tether --help` and `tether lane list` against a bare node.
    const cli = await measureCli(nats.url);
    // 11. Effects after a kill -9 of tether and a nats-server restart (its own nats-server: it is restarted).
    const resume = await measureResume();
    // 12. Resent command ids after a kill -9: the original answer, never a second entity.
    const resend = await measureResend();
    // 13. Crash recovery: the orphan scan over 100 lanes and 300 marked processes.
    const orphans = await measureOrphanScan();
    // 14. Crash recovery end to end: kill -9 of a supervised tether up → LIVE and relaying; safe mode.
    const recovery = await measureRecovery();
    // 15. Live task sessions: a run → its live session READY; hard pause; operator message → inbox.
    const live = await measureLive(nats.url);
    // 16. Recording: tether's extra CPU for recording a terminal printing 1 MB/s.
    const recording = await measureRecordingOverhead(nats.url);
    // 17. The share viewer in Chromium: first output, keystroke echo, revoke seen by 7 pages.
    const browser = await measureBrowser(nats.url);

    // 7c. Tether's in-process work per command, no I/O.
    log('in-process cost of one command');
    const inProcess = await measureCommandSteps(registry);

    const { awaitedCpuMicros, pipelinedCpuMicros, lagAfterPipelined, ...cmd } = commands;
    const modelledCommandMicros =
      1e6 / transport.echoPerSec +
      1e6 / rawPublishPerSec +
      inProcess.hostExecuteMicros +
      inProcess.intakeMicros +
      inProcess.replyMicros;
    const breakdown = {
      transport,
      inProcess,
      modelledCommandMicros,
      cpu: {
        awaitedCommandMicros: awaitedCpuMicros,
        pipelinedCommandMicros: pipelinedCpuMicros,
        rawAwaitedPublishMicros: rawRuns[0]!.awaitedCpuMicros,
        rawPipelinedPublishMicros: rawRuns[0]!.pipelinedCpuMicros,
      },
      projectionLagAfterPipelined: lagAfterPipelined,
      bareHost: {
        commandsPerSec: bareHost.commandsPerSec,
        commandP50Ms: bareHost.commandP50Ms,
        commandP99Ms: bareHost.commandP99Ms,
        pipelinedCommandsPerSec: bareHost.pipelinedCommandsPerSec,
        awaitedCpuMicros: bareHost.awaitedCpuMicros,
        pipelinedCpuMicros: bareHost.pipelinedCpuMicros,
      },
      replayPhases: replay.replayPhases,
    };
    const results: Results = {
      ...auth,
      rawPublishPerSec,
      commandsPerSec: cmd.commandsPerSec,
      commandRatio: cmd.commandsPerSec / rawPublishPerSec,
      rawPipelinedPerSec,
      pipelinedCommandsPerSec: cmd.pipelinedCommandsPerSec,
      pipelinedRatio: cmd.pipelinedCommandsPerSec / rawPipelinedPerSec,
      rawReadPerSec: replay.rawReadPerSec,
      replayEventsPerSec: replay.replayEventsPerSec,
      replayRatio: replay.replayEventsPerSec / replay.rawReadPerSec,
      commandP50Ms: cmd.commandP50Ms,
      commandP99Ms: cmd.commandP99Ms,
      ...controlPlane,
      ...policy,
      ...sharing,
      ...handoff,
      ...cli,
      ...resume,
      ...resend,
      ...orphans,
      ...recovery,
      ...live,
      ...recording,
      ...browser,
      targets: TARGETS,
      rawPublishRuns: rawRuns.map((r) => Math.round(r.awaitedPerSec)),
      rawPipelinedRuns: rawRuns.map((r) => Math.round(r.pipelinedPerSec)),
      eventBytes: event.length,
      replayEvents: replay.replayEvents,
      replayEntities: replay.replayEntities,
      replayVerified: replay.replayVerified,
      rawReadRuns: replay.rawReadRuns,
      replayRuns: replay.replayRuns,
      breakdown,
      counts: N,
      natsServerVersion: nc.info?.version,
      nodeVersion: process.version,
      cpus: cpus().length,
      /** 1-minute load averages when the run started and ended: other work on the machine skews every figure. */
      loadAverage: { start: loadBefore, end: loadavg()[0] },
      date: new Date().toISOString(),
    };
    writeResults(RESULTS, results);
    process.stdout.write(`\n${formatTable(results, breakdown)}\n\nwrote ${RESULTS}\n`);
  } finally {
    for (const step of cleanup)
      await Promise.resolve()
        .then(step)
        .catch((err) => log(`cleanup: ${String(err)}`));
  }
}

const exitsWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);

// `npm run bench:cli`, `bench:resume`, `bench:resend`, `bench:handoff`, `bench:auth`, `bench:orphans`, `bench:recovery`, `bench:live`, `bench:recording` and `bench:browser` run one section alone.
const parts: Record<string, () => Promise<void>> = {
  cli: benchCliAlone,
  resume: benchResumeAlone,
  resend: benchResendAlone,
  handoff: benchHandoffAlone,
  auth: benchAuthAlone,
  orphans: benchOrphansAlone,
  recovery: benchRecoveryAlone,
  live: benchLiveAlone,
  recording: benchRecordingAlone,
  browser: benchBrowserAlone,
};
(parts[process.argv[2] ?? ''] ?? main)().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
