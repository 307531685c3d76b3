import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  entityContracts,
  publicCommands,
  type Actor,
  type CommandReply,
  type CommandRequest,
  type PublicCommand,
} from '@tether/contracts';
import { listActors, parseToken, sendCommand, type SavedActor } from '@tether/runtime';
import { asActor, eventually, useControlPlane, type Tether } from '../harness/index.ts';
import { whenIdle } from '../harness/quiescence.ts';
import { schemaArbs, type JsonSchema } from '../harness/schema-arbitraries.ts';
import { knownFrom, learn, poolOf, refTo, resolve, type Known, type Ref } from './existing-ids.ts';
import { postCommand } from './helpers.ts';
import { agentCommand } from '../live/task-helpers.ts';
import { violations, worldOf, type Settings } from './invariants.ts';

/**
 * No public command can break an invariant. Every command the front door lets in (each entity verb
 * not marked internal, and each application command: publicCommands() over the contract registry) is
 * sent, over NATS and HTTP, as different actors, with data generated from its zod contract whose id
 * fields name actors that exist right then (lanes, sessions, codex session ids, terminals, shares …, in
 * whatever state they are) or fresh ids. After every sequence, once tether is idle, every invariant of
 * ./invariants.ts must hold over the read model.
 *
 * Generation is seeded (PROPERTY_SEED overrides it, PROPERTY_RUNS the number of sequences), so a
 * failure names the exact commands and reproduces.
 */

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_207); // one whose 40 sequences send every public command
const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);
const MAX_PER_TERMINAL = 3;

// People share read-only at once, write shares and agents need an operator: every share path is reachable;
// likewise for handoffs.
const policyFile = join(mkdtempSync(join(tmpdir(), 'tether-policy-')), 'share-policy.json');
writeFileSync(
  policyFile,
  JSON.stringify({
    rules: [
      { id: 'people-read', effect: 'allow', actors: ['human:*'], access: ['read'] },
      { id: 'people-write', effect: 'allow', actors: ['human:*'], access: ['write'], requireApproval: true },
      { id: 'agents', effect: 'allow', actors: ['ai:*'], requireApproval: true },
      // Keyboards may be handed to anyone; to an agent only with an operator's approval.
      { id: 'handoffs', effect: 'allow', actions: ['handoff'] },
      { id: 'handoffs-to-agents', effect: 'allow', actions: ['handoff'], to: ['ai:*'], requireApproval: true },
    ],
  }),
);
const cp = useControlPlane({
  TETHER_SHARE_POLICY: policyFile,
  TETHER_SHARE_MAX_PER_TERMINAL: String(MAX_PER_TERMINAL),
  // The contracts' own TTL bounds (1 s … 7 days), so generated TTLs mostly pass and extensions meet the maximum.
  TETHER_SHARE_MIN_TTL_MS: '1000',
  TETHER_SHARE_MAX_TTL_MS: String(7 * 86_400_000),
});
/** What useControlPlane starts tether with. */
const settings: Settings = { workspaces: ['ws1', 'nogit'], harnessUrl: null, maxSharesPerTerminal: MAX_PER_TERMINAL };

const ACTORS: Actor[] = [
  { kind: 'human', id: 'ann' },
  { kind: 'human', id: 'bob' },
  { kind: 'ai', id: 'agent' },
  { kind: 'service', id: 'ci' },
];
const COMMANDS = publicCommands();
const nameOf = (c: PublicCommand) => `${c.entity}.${c.verb}`;
/** "share.grantWrite" → ["share", "grantWrite"]; verbs may hold dots ("status.changed"), entities do not. */
const split = (name: string) => [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)] as const;

// ---------------------------------------------------------------------------------------------
// Steps

interface Step {
  /** "entity.verb" of a public command. */
  command: string;
  target: Ref | undefined;
  data: unknown;
  actor: Actor;
  via: 'nats' | 'http';
}

function stepOf(c: PublicCommand): fc.Arbitrary<Step> {
  const schema = z.toJSONSchema(c.contract.data, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const arbs = schemaArbs(
    (s) => s,
    [],
    (name) => {
      const pool = poolOf(name);
      return pool ? refTo(pool) : undefined;
    },
  );
  // A verb on an existing entity names it; a create may name one (taken already, or new) or leave it to tether.
  const needsId = c.application ? !!c.contract.needsEntityId : !c.contract.creates;
  const self = refTo(`${c.entity}Id`);
  return fc.record({
    command: fc.constant(nameOf(c)),
    target: needsId ? self : fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: self }),
    data: fc.oneof({ weight: 9, arbitrary: arbs.valid(schema) }, { weight: 1, arbitrary: arbs.near(schema) }),
    actor: fc.constantFrom(...ACTORS),
    via: fc.constantFrom('nats' as const, 'http' as const),
  });
}
/**
 * policy.reload changes the share rules, not the actors the sequences act on: it is sent before them
 * (by an operator, over each door) rather than drawn, so the seed draws the same sequences as before it.
 */
const SENT_FIRST = new Set(['policy.reload']);
const DRAWN = COMMANDS.filter((c) => !SENT_FIRST.has(nameOf(c)));
/** Commands that make something (lanes, sessions, terminals, shares) come three times as often: without them the world soon has only ended actors. */
const anyStep = fc.oneof(
  ...DRAWN.map((c) => ({
    weight: (c.application ? c.contract.needsEntityId : !c.contract.creates) ? 1 : 3,
    arbitrary: stepOf(c),
  })),
);

// ---------------------------------------------------------------------------------------------
// Running them against tether

/** What each public command got: sent, accepted, and refusals by code and reason (PROPERTY_STATS=1 prints it). */
const tried = new Map<string, { sent: number; ok: number; refused: Record<string, number> }>();

/** The step's actor speaks with an operator credential of its own (the system actor, with the owner's: its claim is ignored). */
async function senderFor(actor: Step['actor']): Promise<Tether> {
  if (!actor || actor.kind === 'system') return cp;
  const t = await asActor(cp, `${actor.kind}:${actor.id}`, 'operator');
  held.add(parseToken(t.token)!.credentialId);
  return t;
}
/** Credentials the test sends with: revoking one would only lock the test out, so those revokes are not sent. */
const held = new Set<string>();

async function run(step: Step, known: Known): Promise<{ sent: CommandRequest; reply: CommandReply } | undefined> {
  const [entity, verb] = split(step.command);
  const named: string[] = [];
  const entityId = resolve(step.target, known, named) as string | undefined;
  const sent: CommandRequest = {
    id: randomUUID(),
    ...(entityId === undefined ? {} : { entityId }),
    data: resolve(step.data, known, named) as Record<string, unknown>,
    actor: step.actor,
  };
  held.add(parseToken(cp.token)!.credentialId);
  const sender = await senderFor(step.actor);
  if (step.command === 'credential.revoke' && entityId && held.has(entityId)) return undefined;
  const reply =
    step.via === 'nats'
      ? await sendCommand(cp.ctx.store.nc, entity, verb, sent, { credential: sender.token, timeoutMs: 30_000 })
      : await postCommand(sender, entity, verb, sent, 30_000);
  const t = tried.get(step.command) ?? tried.set(step.command, { sent: 0, ok: 0, refused: {} }).get(step.command)!;
  t.sent++;
  if (reply.ok) t.ok++;
  else {
    const why = `${reply.error.code} ${reply.error.reason ?? ''}`.trim();
    t.refused[why] = (t.refused[why] ?? 0) + 1;
  }
  if (reply.ok) learn(known, reply.entity, reply.entityId, reply.state, reply.result);
  // The next step may follow what this one made (a cleanup cascade reads the read model): let the model catch up.
  if (reply.ok)
    await eventually(
      () => cp.ctx.store.subscriptionLag('proj_actors'),
      (lag) => lag === 0,
    );
  return { sent, reply };
}

/**
 * The read model once tether is idle, and what it breaks. Effects may still be under way when the
 * stream looks quiet (a shell starting, a timer firing), so a broken invariant is read again until
 * it holds or `graceMs` has passed.
 */
async function idleWorld(graceMs = 10_000): Promise<{ actors: SavedActor[]; broken: string[] }> {
  const end = Date.now() + graceMs;
  for (;;) {
    const seq = await whenIdle(cp.ctx.store, 20_000);
    const actors = await listActors(cp.ctx.store);
    if ((await cp.ctx.store.lastStreamSeq()) !== seq) continue; // it moved while being read
    const broken = violations(worldOf(actors), settings);
    if (broken.length === 0 || Date.now() > end) return { actors, broken };
    await new Promise((r) => setTimeout(r, 200));
  }
}

const show = (step: Step, sent: CommandRequest, reply: CommandReply) =>
  `${step.command} via ${step.via} as ${step.actor.kind}:${step.actor.id} ` +
  `${JSON.stringify({ entityId: sent.entityId, data: sent.data })} → ` +
  (reply.ok
    ? `ok ${reply.entity} ${reply.entityId} ${JSON.stringify(reply.state)}`
    : `${reply.error.code}${reply.error.reason ? ` ${reply.error.reason}` : ''}`);

// ---------------------------------------------------------------------------------------------

let actors: SavedActor[] = [];
let chains = 0;

/** Sends a command as ann that must be accepted (the world the property starts from). */
async function must(entity: string, verb: string, entityId: string | undefined, data: Record<string, unknown>) {
  const req = { ...(entityId ? { entityId } : {}), data, actor: ACTORS[0]! };
  const r = await sendCommand(cp.ctx.store.nc, entity, verb, req, { credential: cp.token, timeoutMs: 30_000 });
  if (!r.ok) throw new Error(`preparing the world, ${entity}.${verb} was refused: ${r.error.code} ${r.error.message}`);
  return r;
}

/**
 * Random commands wear the world down (lanes cleaned up, terminals closed), and most paths need a
 * working lane. Before each sequence, public commands bring it back to two lanes with an active
 * session and an open terminal, each terminal with a read share and a write share held for approval,
 * and a task run of the scripted agent with its live session.
 */
async function replenish(): Promise<void> {
  const w = worldOf(actors);
  const working = [...w.lane.values()].filter(
    (l) =>
      ['ready', 'running', 'blocked'].includes(String(l.value)) &&
      l.context.activeSessionId &&
      [...w.terminal.values()].some((t) => t.context.laneId === l.entityId && t.value === 'active'),
  );
  if (working.length >= 2) return;
  const made = Array.from({ length: 2 - working.length }, () => chains++);
  for (const i of made)
    await must('lane', 'create', `lane-${i}`, { workspaceId: 'ws1', projectContextId: 'p', displayName: `lane ${i}` });
  await whenIdle(cp.ctx.store);
  for (const i of made) {
    const s = await must('session', 'ensure', undefined, {
      laneId: `lane-${i}`,
      provider: 'codex',
      codexSessionId: `codex-${i}`,
    });
    await must('terminal', 'spawn', `term-${i}`, { laneId: `lane-${i}`, sessionId: s.entityId });
  }
  await whenIdle(cp.ctx.store);
  for (const i of made) {
    await must('share', 'create', undefined, { terminal_id: `term-${i}`, participant: 'viewer' });
    await must('share', 'create', undefined, { terminal_id: `term-${i}`, access: 'write', participant: 'pair' });
    // An agent that runs until the test ends, with its live session: what the task-run verbs act on.
    await must('taskRun', 'run', undefined, { lane_id: `lane-${i}`, command: agentCommand({ steps: 100_000 }) });
  }
  const now = await idleWorld(0);
  expect(now.broken).toEqual([]);
  actors = now.actors;
}

beforeAll(async () => {
  // A lane whose workspace is no git repository (it ends in error), and the working lanes.
  await must('lane', 'create', 'lane-nogit', { workspaceId: 'nogit', projectContextId: 'p', displayName: 'no git' });
  await replenish();
}, 60_000);

describe('no public command breaks an invariant', () => {
  it('the front door lets in exactly the public commands of the contracts', async () => {
    const pub = new Set(COMMANDS.map(nameOf));
    const every = [
      ...Object.entries(entityContracts).flatMap(([e, verbs]) => Object.keys(verbs).map((v) => `${e}.${v}`)),
      ...pub,
    ];
    const wrong: string[] = [];
    for (const name of new Set(every)) {
      const [entity, verb] = split(name);
      // Data the verb refuses: a public command is refused for its data (or its entity), an internal one at the door.
      const r = await sendCommand(
        cp.ctx.store.nc,
        entity,
        verb,
        {
          entityId: 'no-such',
          data: { '?': 1 },
          actor: ACTORS[0],
        },
        { credential: cp.token },
      );
      const refusedAtDoor = !r.ok && r.error.reason === 'INTERNAL_VERB';
      if (r.ok || r.error.code === 'UNKNOWN_COMMAND' || refusedAtDoor === pub.has(name))
        wrong.push(
          `${name}: ${r.ok ? 'accepted' : `${r.error.code} ${r.error.reason ?? ''}`}, but it is ${pub.has(name) ? 'public' : 'internal'}`,
        );
    }
    expect(wrong).toEqual([]);
  });

  it('random sequences of public commands, on existing actors in any state, keep every invariant', async () => {
    for (const command of SENT_FIRST)
      for (const via of ['nats', 'http'] as const)
        expect(
          (await run({ command, target: undefined, data: {}, actor: ACTORS[0]!, via }, knownFrom(actors)))?.reply.ok,
        ).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.array(anyStep, { minLength: 1, maxLength: 8 }), async (steps) => {
        await replenish();
        const known = knownFrom(actors);
        const log: string[] = [];
        for (const step of steps) {
          const ran = await run(step, known);
          if (ran) log.push(show(step, ran.sent, ran.reply));
        }
        const after = await idleWorld();
        actors = after.actors;
        if (after.broken.length > 0)
          throw new Error(`after\n  ${log.join('\n  ')}\nthese invariants broke:\n  ${after.broken.join('\n  ')}`);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    if (process.env.PROPERTY_STATS)
      console.table(
        Object.fromEntries(
          [...tried].sort().map(([c, t]) => [c, { sent: t.sent, ok: t.ok, refused: JSON.stringify(t.refused) }]),
        ),
      );
    // Every public command was sent, and the sequences did change the world.
    expect(COMMANDS.map(nameOf).filter((c) => !tried.has(c))).toEqual([]);
    expect([...tried.values()].reduce((n, t) => n + t.ok, 0)).toBeGreaterThan(RUNS);
  }, 120_000);
});
