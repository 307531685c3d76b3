import type { HarnessStatus } from '@tether/contracts';
import { readActor } from '@tether/projector';
import { ProcessManager, type ActorHost, type Cause, type Logger, type Send } from '@tether/runtime';
import { HARNESS_ID } from '../sessions/ensure-session.ts';

export interface HarnessMonitorOptions {
  /** Base URL of the cliproxy harness; null when none is configured. */
  url: string | null;
  /** Health endpoint (default: url + /health). */
  healthUrl?: string;
  everyMs?: number;
  /** A check slower than this degrades the route. */
  slowMs?: number;
  /** A check taking longer than this counts as a failure. */
  timeoutMs?: number;
  cooldownMs?: number;
}

export interface HarnessCheck {
  status: HarnessStatus;
  reason?: string;
  latencyMs: number;
}

/**
 * Checks the harness periodically and on demand, and proposes harness.status.changed when the
 * outcome differs from the recorded status. Degrading is immediate; the machine holds recovery
 * back for its cooldown, so a flapping harness does not flap the route.
 */
export class HarnessMonitor {
  private readonly pm: ProcessManager;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<HarnessCheck>;

  constructor(
    private readonly host: ActorHost,
    send: Send,
    log: Logger,
    private readonly opts: HarnessMonitorOptions,
  ) {
    this.pm = new ProcessManager('harness', send, log);
  }

  async start(): Promise<void> {
    const existing = await readActor(this.host, 'harness', HARNESS_ID);
    const settings = { url: this.opts.url, cooldownMs: this.opts.cooldownMs ?? 10_000 };
    if (!existing) {
      await this.pm.report(this.cause('configure'), 'harness', 'configure', HARNESS_ID, settings);
    } else {
      const recorded = existing.context;
      if (recorded.url !== settings.url || recorded.cooldownMs !== settings.cooldownMs) {
        this.pm.log.warn(
          { recorded: { url: recorded.url, cooldownMs: recorded.cooldownMs }, configured: settings },
          'harness settings changed; reconfiguring',
        );
        await this.pm.report(this.cause(`reconfigure-${Date.now()}`), 'harness', 'reconfigure', HARNESS_ID, settings);
      }
    }
    if (!this.opts.url) return;
    await this.checkNow().catch(() => undefined);
    this.timer = setInterval(
      () =>
        void this.checkNow().catch((err) => this.pm.log.warn({ err: String(err) }, 'harness check failed to record')),
      this.opts.everyMs ?? 5_000,
    );
  }

  stop() {
    clearInterval(this.timer);
  }

  /** One health check now (concurrent callers share it), recorded if the status changed. */
  checkNow(): Promise<HarnessCheck> {
    this.checking ??= this.check().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async check(): Promise<HarnessCheck> {
    const result = await this.probe();
    const current = await this.host.state('harness', HARNESS_ID);
    if (current && current.value !== result.status) {
      const reply = await this.pm.report(this.cause(`check-${Date.now()}`), 'harness', 'status.changed', HARNESS_ID, {
        status: result.status,
        ...(result.reason ? { reason: result.reason } : {}),
        latencyMs: result.latencyMs,
      });
      if (reply)
        this.pm.log.warn(
          { correlationId: reply.correlationId, status: result.status, reason: result.reason },
          'harness status changed',
        );
    }
    return result;
  }

  private async probe(): Promise<HarnessCheck> {
    const url = this.opts.healthUrl ?? `${this.opts.url}/health`;
    const slowMs = this.opts.slowMs ?? 2_000;
    const started = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000) });
      await res.arrayBuffer();
      const latencyMs = Math.round(performance.now() - started);
      if (!res.ok) return { status: 'degraded', reason: `harness answered HTTP ${res.status} at ${url}`, latencyMs };
      if (latencyMs > slowMs)
        return { status: 'degraded', reason: `harness slow: ${latencyMs} ms > ${slowMs} ms at ${url}`, latencyMs };
      return { status: 'healthy', latencyMs };
    } catch (err) {
      const latencyMs = Math.round(performance.now() - started);
      const e = err as Error & { cause?: { code?: string } };
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${this.opts.timeoutMs ?? 5_000} ms`
          : (e.cause?.code ?? e.message);
      return { status: 'degraded', reason: `harness unreachable at ${url}: ${why}`, latencyMs };
    }
  }

  private cause(what: string): Cause {
    return { id: `harness-${what}`, correlationId: `harness-${what}` };
  }
}
