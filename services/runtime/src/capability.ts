import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NatsConnection } from '@nats-io/nats-core';
import { applicationCommands, type OperationId, type Principal, type TetherConfig } from '@tether/contracts';
import type { ActorHost, ActorHostOptions } from './actor/host.ts';
import type { ApplicationCommand, Dispatcher } from './bus/dispatcher.ts';
import type { Logger } from './logger.ts';
import type { Send } from './reactors/reactor-runner.ts';
import type { EventStore, Subscription } from './store/port.ts';

/** A check across entities before "entity.verb" runs (e.g. a terminal's lane must be ready); throws a TetherError to refuse. */
export type Precondition = NonNullable<ActorHostOptions['preconditions']>[string];

/** What a route handler sees of an HTTP request (the gateway hands it Fastify's request). */
export interface HttpRequest {
  /** The request id: the caller's X-Correlation-Id, or a fresh uuid. */
  id: string;
  params: Record<string, string>;
  query: unknown;
  body: unknown;
  headers: IncomingHttpHeaders;
  /** Who is asking, proved by a credential; set on every route but the public ones (health, the document). */
  principal?: Principal;
  /** Checks the request's credential again (a long-lived stream): rejects once it no longer works. */
  reauthenticate?: () => Promise<unknown>;
  raw: IncomingMessage;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** How a route handler answers, when returning the body is not enough (a status, a content type, a stream). */
export interface HttpReply {
  status(code: number): HttpReply;
  type(contentType: string): HttpReply;
  header(name: string, value: string): HttpReply;
  headers(values: Record<string, string>): HttpReply;
  send(payload?: unknown): HttpReply;
  /** The handler writes `raw` itself (server-sent events). */
  hijack(): unknown;
  raw: ServerResponse;
  /** Answers as if no route matched. */
  callNotFound(): void;
}

/** An HTTP handler: returns the reply body, or answers through `reply`. A thrown TetherError becomes its status. */
export type RouteHandler = (req: HttpRequest, reply: HttpReply) => unknown;

/** HTTP handlers keyed by operation id; the gateway finds each one's method and path in the route table. */
export type Routes = Partial<Record<OperationId, RouteHandler>>;

/** Where a capability adds pages that are not part of the API (a viewer page, its files, a WebSocket). */
export interface WebPages {
  get(path: string, handler: RouteHandler): void;
  /** A form a page posts to (sign in, sign out); not part of the API. */
  post(path: string, handler: RouteHandler): void;
  /** Takes HTTP upgrades (WebSockets); a request nobody takes is refused. */
  upgrade(handle: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean): void;
}

/** Something a capability subscribes or runs in the background; the composition root starts and stops it. */
export interface Reactive {
  start(): Promise<unknown>;
  /** May return a promise, which is awaited. */
  stop(): unknown;
}

/** What a capability's route handlers are given: the front door for writes and the reads behind the replies. */
export interface RouteDeps extends Pick<CapabilityDeps, 'dispatcher' | 'host' | 'store'> {
  /** How long a write waits for its workers before it answers. */
  settleMs?: number;
}

/** Whether input `from` someone other than the terminal's session (a share participant) may reach it. */
export type WriteCheck = (terminalId: string, from: string) => Promise<boolean> | boolean;

/** What other capabilities get of the control plane's terminals (sharing relays and backends use it): their bytes, where tmux runs them, and a say in who may type. */
export interface TerminalAccess {
  /** A terminal's output from wherever it runs: its scrollback, then live chunks. */
  follow(terminalId: string, onChunk: (chunk: Uint8Array) => void): Promise<{ stop(): void }>;
  /** Input goes over tether.term.<id>.in like any writer's; the terminal checks `from` again. */
  sendInput(terminalId: string, data: string, from: string): void;
  /** A writer's size goes over tether.term.<id>.resize, queued with its input; the terminal checks `from` again. */
  resize(terminalId: string, size: { cols: number; rows: number; by: string }, from: string): void;
  /** The terminal's size now (from wherever it runs) and whose it is. */
  size(terminalId: string): Promise<{ cols: number; rows: number; by: string | null }>;
  /** Each change of the terminal's size; returns the unsubscribe. */
  onSize(terminalId: string, handler: (size: { cols: number; rows: number; by: string | null }) => void): () => void;
  /** tmux's socket (share backends attach their own client to it). */
  tmuxSocket: string;
  /** Adds a check that may let input from a non-session writer through (any check saying yes does). */
  allowWriters(check: WriteCheck): void;
  /** The terminal's scrollback now: its last bytes, up to `offset` of its log. */
  scrollback(terminalId: string): Promise<{ data: Uint8Array; offset: number }>;
  /** The terminal's shell as /proc shows it (a handoff captures its cwd and environment). */
  shell(terminalId: string): Promise<ShellProcess>;
  /** Holds its writer session's input (a task run taken over); participants with a write grant still type. */
  hold(terminalId: string): void;
  /** Delivers the held input in order and lets the writer's input through again. */
  unhold(terminalId: string): Promise<void>;
  /** Shows a tmux format in the terminal's tmux status line (a share's status); undefined puts back what it showed before. */
  showStatus(terminalId: string, format: string | undefined): Promise<void>;
}

/** A terminal's shell process: its pid, working directory and the environment it started with. */
export interface ShellProcess {
  pid: number;
  cwd: string;
  environ: Record<string, string>;
}

/** What every capability is given by the composition root. */
export interface CapabilityDeps {
  host: ActorHost;
  /** Application commands and the front door for outside callers (routes accept through it). */
  dispatcher: Dispatcher;
  /** How reactors and workers send their commands (the dispatcher, inside tether). */
  send: Send;
  store: EventStore;
  logger: Logger;
  /** The NATS connection when the store is JetStream (terminal I/O, the command bus). */
  nc?: NatsConnection;
  /** Data folder: worktrees, tmux socket, terminal logs, share workers, keys. */
  home: string;
  /** Marks the processes this tether starts (TETHER_OWNER). */
  ownerId: string;
  /** Every setting, parsed once at start (contracts/src/config). */
  config: TetherConfig;
  /** The gateway's own URL, known once it listens. */
  baseUrl: () => string;
}

/**
 * One capability of tether (the control plane, sharing, the audit trail), as its `start(deps)` returns
 * it: what it adds to the dispatcher and the host, what it subscribes, its HTTP handlers and pages, and
 * how it ends. `start` builds and opens; nothing runs until the composition root starts the reactors.
 */
export interface Capability {
  name: string;
  /** Application commands for the Dispatcher, keyed "entity.verb". */
  commands: Record<string, ApplicationCommand>;
  /** Host preconditions, keyed "entity.verb". */
  preconditions: Record<string, Precondition>;
  /** Started in order once every capability is registered; stopped in reverse. */
  reactors: Reactive[];
  /** Reactors safe mode holds back (share workers, the harness monitor): started with the rest, or when safe mode is left. */
  nonEssential?: Reactive[];
  routes: Routes;
  pages?: (pages: WebPages) => void;
  /** Releases what `start` opened (after its reactors stopped). */
  stop(): Promise<void>;
}

/**
 * Registers each capability's commands and preconditions into the records the dispatcher and the host
 * read (at once, so no command can arrive before its gate), and gathers their routes and pages.
 * `start` then starts their reactors, capability by capability in order; `stop` undoes it in reverse.
 */
export function composeCapabilities(
  capabilities: Capability[],
  into: { commands: Record<string, ApplicationCommand>; preconditions: Record<string, Precondition> },
) {
  const routes: Routes = {};
  for (const c of capabilities) {
    requireDeclared(c);
    claim(c.name, into.commands, c.commands);
    claim(c.name, into.preconditions, c.preconditions);
    claim(c.name, routes, c.routes);
  }
  const started = new Set<Reactive>();
  const run = async (reactors: Reactive[]) => {
    for (const r of reactors) started.add(r);
    await Promise.all(reactors.map((r) => r.start()));
  };
  return {
    routes,
    pages: capabilities.flatMap((c) => (c.pages ? [c.pages] : [])),
    /** In safe mode, every capability's nonEssential reactors wait for startNonEssential. */
    async start(opts: { safeMode?: boolean } = {}) {
      for (const c of capabilities) await run([...c.reactors, ...(opts.safeMode ? [] : (c.nonEssential ?? []))]);
    },
    /** Safe mode is left: what it held back starts, capability by capability. */
    async startNonEssential() {
      for (const c of capabilities) await run((c.nonEssential ?? []).filter((r) => !started.has(r)));
    },
    /** Stops every capability, even after one fails to stop; the first failure is thrown at the end. */
    async stop() {
      const failures: unknown[] = [];
      for (const c of [...capabilities].reverse()) {
        try {
          const own = [...c.reactors, ...(c.nonEssential ?? [])].filter((r) => started.has(r));
          await Promise.all(own.map((r) => r.stop()));
          await c.stop();
        } catch (err) {
          failures.push(err);
        }
      }
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** An application command is public: one the contracts do not declare would be missing from the OpenAPI document and the invariant tests. */
function requireDeclared(c: Capability) {
  const apps: Record<string, Record<string, unknown>> = applicationCommands;
  for (const key of Object.keys(c.commands)) {
    const dot = key.indexOf('.');
    if (!Object.hasOwn(apps[key.slice(0, dot)] ?? {}, key.slice(dot + 1)))
      throw new Error(
        `capability ${c.name}: application command "${key}" is not declared in applicationCommands (contracts/src/entities.ts)`,
      );
  }
}

/** Two capabilities handling one "entity.verb" or operation is a wiring mistake: refuse to start rather than let one win. */
function claim<T>(name: string, into: Record<string, T>, own: Record<string, T>) {
  for (const [key, value] of Object.entries(own)) {
    if (key in into) throw new Error(`capability ${name}: "${key}" is already registered by another capability`);
    into[key] = value;
  }
}

/** A durable subscription as a reactive part: opened on start, stopped on stop. */
export function subscription(open: () => Promise<Subscription>): Reactive {
  let sub: Subscription | undefined;
  return {
    start: async () => {
      sub = await open();
    },
    stop: () => sub?.stop(),
  };
}
