/** Small timing helpers shared by every measurement. */

export const rate = (n: number, ms: number) => (n / ms) * 1000;

/** Runs fn(0..n-1) one at a time; returns the elapsed ms and each call's latency in ms. */
export async function oneAtATime(
  n: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ ms: number; latencies: number[] }> {
  const latencies = new Array<number>(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    latencies[i] = performance.now() - t;
  }
  return { ms: performance.now() - t0, latencies };
}

/** Runs fn(0..n-1) with `window` calls outstanding at once (a sliding window of promises); returns elapsed ms. */
export async function windowed(n: number, window: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(window, n) }, worker));
  return performance.now() - t0;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Mean microseconds per call of a synchronous function, after a warm-up. */
export function microsPerCall(n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(n, 2_000); i++) fn(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return ((performance.now() - t0) * 1000) / n;
}

export function log(line: string) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}
