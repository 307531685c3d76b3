import { EventEmitter } from 'node:events';
import type { NatsConnection } from '@nats-io/nats-core';

/** Where terminal bytes travel: tether.term.<id>.out / .in on core NATS, or in-process without NATS. */
export interface TerminalIO {
  publishOutput(terminalId: string, chunk: Uint8Array): void;
  onInput(terminalId: string, handler: (msg: TerminalInput) => void): () => void;
  /** Live output of a terminal (for the gateway's viewers). */
  onOutput(terminalId: string, handler: (chunk: Uint8Array) => void): () => void;
  sendInput(terminalId: string, msg: TerminalInput): void;
}

/** One keystroke batch; `from` names the writer (the terminal's session until share grants exist). */
export interface TerminalInput {
  data: string;
  from: string;
}

export const termSubjects = {
  out: (id: string) => `tether.term.${id}.out`,
  in: (id: string) => `tether.term.${id}.in`,
};

export class NatsTerminalIO implements TerminalIO {
  constructor(private readonly nc: NatsConnection) {}
  publishOutput(id: string, chunk: Uint8Array) {
    this.nc.publish(termSubjects.out(id), chunk);
  }
  onInput(id: string, handler: (msg: TerminalInput) => void) {
    const sub = this.nc.subscribe(termSubjects.in(id), {
      callback: (err, m) => {
        if (err) return;
        const msg = parseInput(m.data);
        if (msg) handler(msg);
      },
    });
    return () => sub.unsubscribe();
  }
  onOutput(id: string, handler: (chunk: Uint8Array) => void) {
    const sub = this.nc.subscribe(termSubjects.out(id), { callback: (err, m) => void (err ? undefined : handler(m.data)) });
    return () => sub.unsubscribe();
  }
  sendInput(id: string, msg: TerminalInput) {
    this.nc.publish(termSubjects.in(id), JSON.stringify(msg));
  }
}

export class LocalTerminalIO implements TerminalIO {
  private readonly bus = new EventEmitter().setMaxListeners(0);
  publishOutput(id: string, chunk: Uint8Array) {
    this.bus.emit(termSubjects.out(id), chunk);
  }
  onInput(id: string, handler: (msg: TerminalInput) => void) {
    this.bus.on(termSubjects.in(id), handler);
    return () => void this.bus.off(termSubjects.in(id), handler);
  }
  onOutput(id: string, handler: (chunk: Uint8Array) => void) {
    this.bus.on(termSubjects.out(id), handler);
    return () => void this.bus.off(termSubjects.out(id), handler);
  }
  sendInput(id: string, msg: TerminalInput) {
    this.bus.emit(termSubjects.in(id), msg);
  }
}

function parseInput(bytes: Uint8Array): TerminalInput | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<TerminalInput>;
    return typeof v.data === 'string' && typeof v.from === 'string' ? { data: v.data, from: v.from } : undefined;
  } catch {
    return undefined;
  }
}
