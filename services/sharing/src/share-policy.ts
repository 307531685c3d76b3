import { existsSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  TetherError,
  type Command,
  type CommandAccepted,
  type PolicyFile,
  type PolicySource,
  type PolicyTrigger,
  type PolicyView,
} from '@tether/contracts';
import { readActor } from '@tether/projector';
import { commandSteps, uuid, type ActorHost, type Logger } from '@tether/runtime';
import { PolicyGate } from './policy-gate.ts';

/**
 * Without a policy file: people may share, read-only or write-capable on the native relay, where nobody
 * types until the share's owner grants one person write for a limited time (tmate and upterm have no
 * per-person grant: read-only there). Agents and services need a rule. A keyboard may be handed to a
 * person (who must accept it); handing it to an agent needs an operator.
 */
export const DEFAULT_SHARE_POLICY: PolicyFile = {
  rules: [
    {
      id: 'default-humans-read',
      effect: 'allow',
      actors: ['human:*'],
      access: ['read'],
      reason: 'built-in default policy: people may share their terminals read-only',
    },
    {
      id: 'default-humans-write-native',
      effect: 'allow',
      actors: ['human:*'],
      access: ['write'],
      backends: ['native'],
      reason:
        'built-in default policy: people may share their terminals write-capable on the native relay; nobody types until the owner grants one person write, for a limited time',
    },
    {
      id: 'default-handoff-to-people',
      effect: 'allow',
      actions: ['handoff'],
      actors: ['human:*', 'ai:*'],
      to: ['human:*'],
      reason: 'built-in default policy: a keyboard may be handed to a person, who must accept it',
    },
    {
      id: 'default-handoff-to-agents',
      effect: 'allow',
      actions: ['handoff'],
      actors: ['human:*'],
      to: ['ai:*'],
      requireApproval: true,
      reason: "built-in default policy: handing a keyboard to an agent needs an operator's approval",
    },
  ],
};

export interface LoadedPolicy {
  gate: PolicyGate;
  /** null: the built-in default. */
  file: string | null;
  source: PolicySource;
}

/** The file a policy comes from: TETHER_SHARE_POLICY, else <home>/share-policy.json, whether it exists or not. */
export const policyPath = (setting: string | undefined, home: string) => setting || join(home, 'share-policy.json');

/** The policy `tether up` uses: TETHER_SHARE_POLICY, else <home>/share-policy.json if present, else the built-in default. */
export function loadPolicy(setting: string | undefined, home: string): LoadedPolicy {
  if (setting) return { gate: PolicyGate.fromFile(setting), file: setting, source: 'setting' };
  const file = policyPath(setting, home);
  if (existsSync(file)) return { gate: PolicyGate.fromFile(file), file, source: 'data-folder' };
  return { gate: new PolicyGate(DEFAULT_SHARE_POLICY), file: null, source: 'built-in' };
}

/** How a load is told: the file (or the built-in default) and its rule ids. */
const describe = (p: LoadedPolicy) =>
  `${p.file ?? 'built-in default'} (rules ${p.gate.ruleList.map((r) => r.id).join(', ') || 'none: every share denied'})`;

/** A change of the file settles (an editor writes, renames, writes again) before it is read. */
const SETTLE_MS = 200;
const WATCHER = { kind: 'system', id: 'share-policy' } as const;

export interface SharePolicyDeps {
  /** TETHER_SHARE_POLICY. */
  setting: string | undefined;
  home: string;
  host: ActorHost;
  log: Logger;
  /** The policy entity: this installation's. */
  entityId: string;
  /** Told of each policy put in force after the first (the share gate decides by it). */
  onLoad: (gate: PolicyGate) => void;
}

/**
 * The share policy in force, and its changes: loaded at start (a bad file stops the start), again when
 * its file changes (watched through its folder, so an editor's rename-over is seen) and on an operator's
 * `policy.reload`. Each load and each refused file is an event of the `policy` entity (audited: who,
 * when, which file, its rule ids); a refused file keeps the policy in force and says why.
 */
export class SharePolicy {
  private current: LoadedPolicy;
  private queue: Promise<unknown> = Promise.resolve();
  private watcher?: FSWatcher;
  private settle?: NodeJS.Timeout;

  constructor(private readonly deps: SharePolicyDeps) {
    this.current = loadPolicy(deps.setting, deps.home);
  }

  get gate(): PolicyGate {
    return this.current.gate;
  }

  /** The file whose changes reload the policy. */
  get watching(): string {
    return policyPath(this.deps.setting, this.deps.home);
  }

  /** Records the policy this start uses, says which in the log, and watches its file. */
  async start(): Promise<void> {
    await this.record('start', this.systemCommand(), this.current);
    this.watch();
  }

  stop() {
    clearTimeout(this.settle);
    this.watcher?.close();
    this.watcher = undefined;
  }

  /**
   * Loads the file again (one load at a time). A file that cannot be read or parsed is recorded as
   * refused and answered INVALID_COMMAND (reason POLICY_INVALID) with why; the policy in force stays.
   * Undefined: the watched file changed nothing (an operator's reload is recorded all the same).
   */
  reload(
    trigger: Exclude<PolicyTrigger, 'start'>,
    cmd: Command = this.systemCommand(),
  ): Promise<CommandAccepted | undefined> {
    const run = this.queue.then(() => this.load(trigger, cmd));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async view(): Promise<PolicyView> {
    const ctx = (await readActor(this.deps.host, 'policy', this.deps.entityId))?.context;
    const { file, source, gate } = this.current;
    return {
      file,
      source,
      rule_ids: gate.ruleList.map((r) => r.id),
      rules: gate.ruleList,
      trigger: ctx?.trigger ?? 'start',
      loaded_at: ctx?.loadedAt ?? new Date(0).toISOString(),
      watching: this.watcher ? this.watching : null,
      last_refusal: ctx?.lastRefusal ?? null,
    };
  }

  private async load(trigger: Exclude<PolicyTrigger, 'start'>, cmd: Command): Promise<CommandAccepted | undefined> {
    const { setting, home, host, log, entityId } = this.deps;
    let next: LoadedPolicy;
    try {
      next = loadPolicy(setting, home);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const file = policyPath(setting, home);
      await commandSteps(host, cmd)('policy', 'refused', entityId, { file, trigger, reason: reason.slice(0, 2_000) });
      log.error(
        { subsystem: 'policy', file, trigger, reason },
        `policy: ${file} refused, the policy in force stays, ${describe(this.current)}: ${reason}`,
      );
      throw new TetherError('INVALID_COMMAND', `${reason}; the policy in force stays: ${describe(this.current)}`, {
        reason: 'POLICY_INVALID',
        ...(err instanceof TetherError && err.issues ? { issues: err.issues } : {}),
      });
    }
    const same =
      next.file === this.current.file &&
      next.gate.digest === this.current.gate.digest &&
      next.source === this.current.source;
    // An editor's save of the same text, or a folder event about another file: nothing changed.
    if (same && trigger === 'file-changed') return undefined;
    const accepted = await this.record(trigger, cmd, next);
    this.current = next;
    this.deps.onLoad(next.gate);
    return accepted;
  }

  /** The policy event of a load, then the startup or reload line. */
  private async record(trigger: PolicyTrigger, cmd: Command, p: LoadedPolicy): Promise<CommandAccepted> {
    const ruleIds = p.gate.ruleList.map((r) => r.id);
    const accepted = await commandSteps(this.deps.host, cmd)('policy', 'loaded', this.deps.entityId, {
      file: p.file,
      source: p.source,
      ruleIds,
      trigger,
    });
    this.deps.log.info(
      {
        subsystem: 'policy',
        file: p.file,
        source: p.source,
        ruleIds,
        trigger,
        by: `${cmd.actor.kind}:${cmd.actor.id}`,
      },
      `policy: ${describe(p)}${trigger === 'start' ? '' : `, loaded again (${trigger})`}`,
    );
    return accepted;
  }

  private systemCommand(): Command {
    const id = uuid();
    return { id, entity: 'policy', verb: 'reload', data: {}, actor: WATCHER, correlationId: id, causationId: id };
  }

  /** Watches the file's folder (a file replaced by a rename is another inode), reloading once changes settle. */
  private watch() {
    const target = this.watching;
    try {
      this.watcher = watch(dirname(target), (_event, name) => {
        if (name && name !== basename(target)) return;
        clearTimeout(this.settle);
        this.settle = setTimeout(() => void this.reload('file-changed').catch(() => undefined), SETTLE_MS);
      });
      this.watcher.on('error', (err) => {
        this.deps.log.warn(
          { subsystem: 'policy', file: target, err: String(err) },
          'policy: watching the file stopped',
        );
        this.watcher = undefined;
      });
    } catch (err) {
      this.deps.log.warn(
        { subsystem: 'policy', file: target, err: String(err) },
        `policy: cannot watch ${target} (its folder is missing?); \`tether policy reload\` loads it`,
      );
    }
  }
}
