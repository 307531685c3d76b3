import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperatorMessage, TaskControlFile } from '@tether/contracts';
import { privateDir, privateFile } from '@tether/runtime';

/** The task runs' tmux socket: apart from the terminals' one, so no terminal worker or orphan scan takes a run's session for a stray terminal. */
export const taskTmuxSocket = (home: string) => join(home, 'tasks', 'tmux.sock');

/**
 * A run's folder `$home/tasks/<runId>/` (0700): what the agent reads (inbox.jsonl, control.json), what
 * it writes (control.json.ack), the task log its pane follows and the agent's exit status.
 */
export class TaskFiles {
  readonly dir: string;
  readonly inbox: string;
  readonly control: string;
  /** The agent acknowledges a soft pause by writing `{"seq":N}` here. */
  readonly ack: string;
  readonly log: string;
  /** The agent wrapper's exit status (written when the agent ends). */
  readonly status: string;

  constructor(home: string, runId: string) {
    this.dir = join(home, 'tasks', runId);
    this.inbox = join(this.dir, 'inbox.jsonl');
    this.control = join(this.dir, 'control.json');
    this.ack = `${this.control}.ack`;
    this.log = join(this.dir, 'task.log');
    this.status = join(this.dir, 'agent.exit');
  }

  /** Made (again) idempotently: the folder 0700, the inbox 0600, the log and a running control file if missing. */
  prepare(at: string): void {
    privateDir(join(this.dir, '..'));
    privateDir(this.dir);
    privateFile(this.inbox);
    privateFile(this.log);
    if (!existsSync(this.control))
      this.writeControl({ state: 'running', mode: null, seq: 0, reason: null, by: null, at });
  }

  /** Rewritten whole and atomically (a rename): an agent never reads half a file. */
  writeControl(c: TaskControlFile): void {
    const tmp = `${this.control}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(c)}\n`, { mode: 0o600 });
    renameSync(tmp, this.control);
  }

  readControl(): TaskControlFile | undefined {
    return readJson(this.control) as TaskControlFile | undefined;
  }

  /** The control seq the agent acknowledged last, if any. */
  ackedSeq(): number | undefined {
    const seq = (readJson(this.ack) as { seq?: unknown } | undefined)?.seq;
    return typeof seq === 'number' ? seq : undefined;
  }

  /** One line of the task log (its pane shows it), stamped with the event's time. */
  logLine(at: string, line: string): void {
    appendFileSync(this.log, `${at.slice(11, 19)}  ${line}\n`, { mode: 0o600 });
  }

  /** Appends a message once: a redelivered event whose seq is already in the inbox appends nothing. */
  appendMessage(m: OperatorMessage): boolean {
    const text = readText(this.inbox);
    if (lastSeq(text) >= m.seq) return false;
    // After a line a crash cut short, the new one starts on a line of its own.
    const lead = text === '' || text.endsWith('\n') ? '' : '\n';
    appendFileSync(this.inbox, `${lead}${JSON.stringify(m)}\n`, { mode: 0o600 });
    return true;
  }

  /** The agent wrapper's status file: its exit code, or 128+N for signal N. */
  exitStatus(): number | undefined {
    const s = readText(this.status).trim();
    return s !== '' && Number.isInteger(Number(s)) ? Number(s) : undefined;
  }
}

function lastSeq(inbox: string): number {
  let last = -1;
  for (const line of inbox.split('\n')) {
    try {
      if (line) last = Math.max(last, Number((JSON.parse(line) as OperatorMessage).seq));
    } catch {
      /* a line cut by a crash */
    }
  }
  return last;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
