/**
 * Sandbox public door: a container's namespace with its managed files and
 * its DNS listener, wired to the real OS here (G3: index.ts wires io/).
 */
import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../common/log.js';
import { createResolver, type Handler, type ResolverView } from '../resolver/index.js';
import { acquireSandboxSockets } from './io/bind.js';
import { bringLoUp, createNetns, deleteNetns, netnsAlive, netnsPathFor } from './io/netns.js';
import { netnsIpv6Enabled } from './io/ipv6.js';
import { SandboxRuntime, type SandboxIo } from './sandbox.js';
import type { DnsFilesConfig } from './dns-files.js';
import { NetnsError } from './errors.js';

export { SandboxRuntime } from './sandbox.js';
export type { SandboxEndpoint, SandboxIo } from './sandbox.js';
export type { DnsFilesConfig } from './dns-files.js';
export { sortEndpoints, compareEndpoints } from './order.js';
export { NetnsError, SocketAcquireError, SANDBOX_ERROR_CODES } from './errors.js';
export { acquireSandboxSockets } from './io/bind.js';
export { netnsAlive, netnsPathFor, deleteNetns } from './io/netns.js';

/** Options for openSandbox. */
export interface OpenSandboxOptions {
  readonly id: string;
  /** Create this named namespace (/run/netns/<name>) ... */
  readonly netnsName?: string | undefined;
  /** ... or adopt this existing namespace (external key). */
  readonly netnsPath?: string | undefined;
  readonly files: DnsFilesConfig;
  readonly logger: Logger;
  /** Extra resolver stages between local answers and the SERVFAIL fallback (forwarding, cache). */
  readonly stages?: (view: ResolverView) => Handler[];
}

/** An opened sandbox: its runtime, where its namespace is, and how to remove it. */
export interface OpenedSandbox {
  readonly runtime: SandboxRuntime;
  readonly netnsPath: string;
  /** True when sandns created the namespace (and deletes it). */
  readonly ownsNetns: boolean;
  /** Stop the listener, delete an owned namespace and the managed files. */
  destroy(): Promise<void>;
}

/** Create or adopt the namespace, write the files, and return the runtime. */
export async function openSandbox(opts: OpenSandboxOptions): Promise<OpenedSandbox> {
  const ownsNetns = opts.netnsPath === undefined;
  let netnsPath: string;
  if (ownsNetns) {
    netnsPath = await createNetns(opts.netnsName ?? opts.id);
  } else {
    netnsPath = opts.netnsPath!;
    if (!(await netnsAlive(netnsPath))) throw new NetnsError(netnsPath, 'the external key is not a network namespace');
    await bringLoUp(netnsPath);
  }
  const logger = opts.logger.child({ sandbox: opts.id });
  const io: SandboxIo = {
    ipv6Enabled: () => netnsIpv6Enabled(netnsPath),
    async startResolver(view) {
      const sockets = await acquireSandboxSockets(netnsPath);
      const resolver = createResolver({ view, logger, stages: opts.stages?.(view) ?? [] });
      resolver.serve(sockets);
      return resolver;
    },
  };
  const runtime = new SandboxRuntime(opts.id, opts.files, io, logger);
  const destroy = async (): Promise<void> => {
    await runtime.close();
    if (ownsNetns) await deleteNetns(opts.netnsName ?? opts.id);
    await removeFiles(opts.files);
  };
  try {
    await runtime.init();
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }
  return { runtime, netnsPath, ownsNetns, destroy };
}

async function removeFiles(files: DnsFilesConfig): Promise<void> {
  for (const p of [files.hostsPath, files.resolvConfPath, files.resolvConfHashPath]) {
    await rm(p, { force: true });
  }
  // Directories sandns made for the sandbox go too, when empty; a caller's own directories stay.
  for (const d of new Set([dirname(files.hostsPath), dirname(files.resolvConfPath), dirname(files.resolvConfHashPath)])) {
    if (files.ownedDirs.includes(d)) await rmdir(d).catch(() => undefined);
  }
}

/** Default namespace path for a sandbox name. */
export function defaultNetnsPath(name: string): string {
  return netnsPathFor(name);
}
