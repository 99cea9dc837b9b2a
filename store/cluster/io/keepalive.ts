/**
 * The lease keep-alive (docs/cluster.md M5), run on a worker thread: a
 * daemon whose main loop is busy for seconds (a storm of connects) must not
 * lose its lease, and with it every record of the host. Sends a keep-alive
 * every TTL/3 on one LeaseKeepAlive stream (reopened on error) and reports
 * each answer; an answer with TTL 0 means etcd dropped the lease.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Etcd3 } from 'etcd3';

/** What the keep-alive reports. */
export type KeepAliveEvent = { kind: 'alive'; ttl: number } | { kind: 'lost' } | { kind: 'failed'; reason: string };

/** What it needs. */
export interface KeepAliveSpec {
  readonly endpoints: readonly string[];
  readonly lease: string;
  readonly ttl: number;
  readonly credentials?: { rootCertificate: Uint8Array; certChain?: Uint8Array; privateKey?: Uint8Array } | undefined;
}

/** A running keep-alive. */
export interface KeepAlive {
  stop(): Promise<void>;
}

/** The loop itself, on any thread: returns its stop function. */
export function keepAliveLoop(client: Etcd3, spec: KeepAliveSpec, emit: (e: KeepAliveEvent) => void): () => void {
  let stopped = false;
  let stream: Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>> | undefined;
  let opening = false;
  const open = async (): Promise<void> => {
    if (opening || stopped) return;
    opening = true;
    try {
      const s = await client.leaseClient.leaseKeepAlive();
      s.on('data', (res) => emit(Number(res.TTL) > 0 ? { kind: 'alive', ttl: Number(res.TTL) } : { kind: 'lost' }));
      s.on('error', (err: Error) => {
        if (stream === s) stream = undefined;
        emit({ kind: 'failed', reason: err.message });
      });
      s.on('end', () => {
        if (stream === s) stream = undefined;
      });
      stream = s;
    } catch (err) {
      emit({ kind: 'failed', reason: err instanceof Error ? err.message : String(err) });
    } finally {
      opening = false;
    }
  };
  const tick = (): void => {
    if (stopped) return;
    if (stream === undefined) void open().then(() => stream?.write({ ID: spec.lease }));
    else stream.write({ ID: spec.lease });
  };
  tick();
  const timer = setInterval(tick, Math.max(500, (spec.ttl * 1000) / 3));
  return () => {
    stopped = true;
    clearInterval(timer);
    stream?.end();
  };
}

/** Where the compiled worker lives (absent when running from TypeScript sources: then the loop runs in-thread). */
function workerFile(): string | undefined {
  const p = fileURLToPath(new URL('./keepalive-worker.js', import.meta.url));
  return existsSync(p) ? p : undefined;
}

/** Start a keep-alive on a worker thread (or in this thread when no compiled worker exists). */
export function startKeepAlive(client: Etcd3, spec: KeepAliveSpec, emit: (e: KeepAliveEvent) => void): KeepAlive {
  const file = workerFile();
  if (file === undefined) {
    const stop = keepAliveLoop(client, spec, emit);
    return { stop: async () => stop() };
  }
  const w = new Worker(file, { workerData: spec });
  w.on('message', (e: KeepAliveEvent) => emit(e));
  w.on('error', (err) => emit({ kind: 'failed', reason: `keep-alive worker: ${err.message}` }));
  w.unref();
  return { stop: async () => void (await w.terminate()) };
}
