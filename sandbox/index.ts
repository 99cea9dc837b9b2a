/**
 * Sandbox public door: a container's namespace with its managed files and
 * its DNS listener, wired to the real OS here (G3: index.ts wires io/).
 */
import { rmdirSync, rmSync } from 'node:fs';
import { keepOriginal, putBackOriginal } from './io/managed-files.js';
import { pinLocation, pinnedLocation, removeAtLocation, stillPinned, unpinLocation } from '../common/io/in-place.js';
import type { Logger } from '../common/log.js';
import { createResolver, type ForwardingOptions, type SharedCache } from '../resolver/index.js';
import { hardenedHostDialer, netnsDialer } from './io/dialer.js';
import { releaseNetnsSockets } from './io/upstream-udp.js';
import { acquireSandboxSockets } from './io/bind.js';
import { bringLoUp, createNetns, deleteNetns, isHostNetns, netnsAlive, netnsMadeFor, netnsMark, netnsMounted, netnsPathFor, pinNetns, pinnedNetnsPath } from './io/netns.js';
import { netnsIpv6Enabled } from './io/ipv6.js';
import { SandboxRuntime, type SandboxIo } from './sandbox.js';
import type { DnsFilesConfig } from './dns-files.js';
import { digestTempPath, type ExtServer } from '../resolvconf/index.js';
import { InvalidOptionError, leftBehind } from '../common/errors.js';

export { SandboxRuntime } from './sandbox.js';
export type { SandboxEndpoint, SandboxIo } from './sandbox.js';
export type { DnsFilesConfig, OriginLoader } from './dns-files.js';
export { originLoader } from './dns-files.js';
export { compareEndpoints } from './order.js';
export { netnsMounted, netnsPathFor, isEphemeralNetnsPath, pinnedNetnsPath, netnsNameTaken, netnsIdentity } from './io/netns.js';
export { netnsIpv6Enabled } from './io/ipv6.js';
export { NetnsExistsError } from './errors.js';
export { checkManagedFile, checkManagedDir, checkPathShape, entryExists } from './io/managed-files.js';

/** Options for openSandbox. */
export interface OpenSandboxOptions {
  readonly id: string;
  /** Create this named namespace (/run/netns/<name>)... */
  readonly netnsName?: string | undefined;
  /**... or adopt this existing namespace (external key). */
  readonly netnsPath?: string | undefined;
  /** A /proc/<pid>/ns/net path to pin at `netnsPath` (= pinnedNetnsPath(id)) first; destroy removes the pin. */
  readonly pinFrom?: string | undefined;
  readonly files: DnsFilesConfig;
  readonly logger: Logger;
  /** Forwarding of names not answered locally (R10–R14): a cache shared across sandboxes (or false) and options; false: no forwarding. */
  readonly forwarding?: { readonly cache: SharedCache | false; readonly options?: Partial<ForwardingOptions> } | false | undefined;
  /** No namespace yet: the key is set later with setKey (OCI hook; libnetwork's SetKey). */
  readonly pending?: boolean;
  /** Restore (L3): the namespace exists already; adopt it with these saved DNS settings, files untouched (as Docker). */
  readonly restore?: SavedDns | undefined;
  /**
   * Resolves once the sandbox's record is synced: no file is written before (the namespace may be made meanwhile).
   * When it rejects, what was made is removed and its error is the create's (ERR_STORE_WRITE_FAILED).
   */
  readonly filesAfter?: Promise<void> | undefined;
}

/** What a restored sandbox takes from the store instead of rewriting its resolv.conf. */
export interface SavedDns {
  readonly extServers: readonly ExtServer[];
  readonly ndotsSet: boolean;
  /** The IPv6 decision the hosts file was written with (so a later leave removes exactly its lines). */
  readonly ipv6?: boolean | undefined;
}

/** An opened sandbox: its runtime, where its namespace is, and how to remove it. */
export interface OpenedSandbox {
  readonly runtime: SandboxRuntime;
  /** The namespace path; '' while a pending sandbox has no key. */
  readonly netnsPath: string;
  /** True when sandns created the namespace (and deletes it). */
  readonly ownsNetns: boolean;
  /** Stop the listener, delete an owned namespace and the managed files. */
  destroy(): Promise<void>;
  /** Give a pending sandbox its key: the namespace at `path` (checked, `lo` brought up). */
  setKey(path: string): Promise<void>;
  /** Back to pending: stop the listener and forget the namespace (never deleted here). */
  clearKey(): Promise<void>;
}

/**
 * Adopt an existing namespace: a namespace file (statfs, no process), then
 * `lo` up inside it, which also proves it is a *network* namespace (nsenter
 * --net refuses any other kind). One process instead of two: CNI ADD pays it.
 */
async function adoptKey(path: string): Promise<string> {
  // A path that is not a namespace is the caller's mistake, a 400 (L8), not a failure of ours.
  const notOne = (cause?: unknown): InvalidOptionError => new InvalidOptionError(
    'netnsPath', `${JSON.stringify(path.slice(0, 200))} is not a network namespace (give an absolute path such as /run/netns/<name> or /proc/<pid>/ns/net)`, { cause },
  );
  if (!path.startsWith('/') || !(await netnsMounted(path))) throw notOne();
  await refuseHostNetns(path);
  await bringLoUp(path).catch((err: unknown) => {
    throw notOne(err);
  });
  return path;
}

/** Throws ERR_INVALID_OPTION (400) when `path` leads to the daemon's own or the host's namespace (isHostNetns). */
async function refuseHostNetns(path: string): Promise<void> {
  if (await isHostNetns(path)) {
    throw new InvalidOptionError('netnsPath', `${JSON.stringify(path.slice(0, 200))} is the daemon's own or the host's network namespace: a sandbox needs one of its own (a container with host networking has no sandbox)`);
  }
}

/** The sandbox's namespace: the restored one, a new one, an adopted one (pinned first when ephemeral), or none yet (''). */
async function acquireNetns(opts: OpenSandboxOptions, ownsNetns: boolean): Promise<string> {
  if (opts.restore !== undefined) return opts.netnsPath ?? (ownsNetns ? netnsPathFor(opts.netnsName ?? opts.id) : ''); // alive: checked by the caller
  if (ownsNetns) return createNetns(opts.netnsName ?? opts.id, netnsMark(opts.id));
  if (opts.netnsPath === undefined) return '';
  if (opts.pinFrom !== undefined) {
    await refuseHostNetns(opts.pinFrom); // before a pin is made of it
    await pinNetns(opts.pinFrom, opts.netnsPath).catch((cause: unknown) => {
      // A process that is gone, or whose namespace this daemon may not bind: the path given is no key (L8: a 400).
      throw new InvalidOptionError('netnsPath', `${JSON.stringify(opts.pinFrom)} cannot be pinned (has the process exited?)`, { cause });
    });
  }
  return adoptKey(opts.netnsPath).catch(async (err: unknown) => {
    if (opts.pinFrom !== undefined) await unpin(opts.id);
    throw err;
  });
}

/** Create or adopt the namespace, write the files, and return the runtime. */
export async function openSandbox(opts: OpenSandboxOptions): Promise<OpenedSandbox> {
  // Every later open and delete of these files must land where their paths lead now (L7: common/io/in-place.ts).
  for (const p of [opts.files.hostsPath, opts.files.resolvConfPath]) pinLocation(p);
  const ownsNetns = opts.netnsPath === undefined && opts.pending !== true;
  let netnsPath = await acquireNetns(opts, ownsNetns);
  const logger = opts.logger.child({ sandbox: opts.id });
  const io: SandboxIo = {
    // A pending sandbox writes its hosts file before it has a namespace: a new one has IPv6 on (as Docker).
    ipv6Enabled: () => (netnsPath === '' ? Promise.resolve(true) : netnsIpv6Enabled(netnsPath)),
    async startResolver(view) {
      const sockets = await acquireSandboxSockets(netnsPath);
      const fwd = opts.forwarding === false || opts.forwarding === undefined ? undefined : opts.forwarding;
      const resolver = createResolver({
        view, logger,
        forwarding: fwd === undefined ? false : {
          cache: fwd.cache,
          // Host-origin servers from the controller's namespace; the sandbox's own `dns` from inside it (R11).
          dialers: { host: hardenedHostDialer(logger), sandbox: netnsDialer(netnsPath) },
          ...(fwd.options ? { options: fwd.options } : {}),
        },
      });
      resolver.serve(sockets);
      return resolver;
    },
  };
  const runtime = new SandboxRuntime(opts.id, opts.files, io, logger);
  const destroy = async (): Promise<void> => {
    await runtime.close();
    releaseNetnsSockets(netnsPath); // idle upstream sockets made inside hold the namespace alive
    if (ownsNetns) await deleteNetns(opts.netnsName ?? opts.id);
    if (opts.netnsPath !== undefined && opts.netnsPath === pinnedNetnsPath(opts.id)) await unpin(opts.id);
    await runtime.retireFiles();
    await removeFiles(opts.files);
  };
  try {
    await opts.filesAfter; // the sandbox's record is synced before any of its files exists (controller: Journal.around)
    if (opts.restore === undefined) for (const [path, backup] of Object.entries(opts.files.originals ?? {})) await keepOriginal(path, backup);
    await (opts.restore === undefined ? runtime.init() : runtime.adopt(opts.restore));
  } catch (err) {
    // An undo that fails too leaves the namespace or files: marked, so the sandbox's write-ahead record stays for restore.
    if (opts.restore === undefined) await destroy().catch(() => void leftBehind(err));
    throw err;
  }
  return {
    runtime, ownsNetns, destroy,
    get netnsPath() {
      return netnsPath;
    },
    async setKey(path) {
      netnsPath = await adoptKey(path);
      await runtime.keyed();
    },
    async clearKey() {
      await runtime.close();
      releaseNetnsSockets(netnsPath);
      netnsPath = '';
    },
  };
}

/** Remove sandns's pin of a sandbox's ephemeral namespace (idempotent). */
function unpin(id: string): Promise<void> {
  return deleteNetns(pinnedNetnsPath(id).slice('/run/netns/'.length));
}

/**
 * Remove what a sandbox that is not coming back left (L3 restore): its owned
 * namespace, if named, sandns's pin of an ephemeral one, and its files.
 * `unfinished`: its create was cut short, so the owned namespace goes only if
 * sandns made it (netnsMadeFor; L4). Returns false when a namespace of that
 * name was left as someone else's.
 */
export async function discardSandbox(id: string, netnsName: string | undefined, files: DnsFilesConfig, unfinished = false, pinned = false): Promise<boolean> {
  let ours = true;
  if (netnsName !== undefined) {
    ours = !unfinished || !(await netnsAlive(netnsPathFor(netnsName))) || (await netnsMadeFor(netnsName, netnsMark(id)));
    if (ours) await deleteNetns(netnsName);
  }
  if (pinned) await unpin(id);
  await removeFiles(files);
  return ours;
}

/**
 * Files sandns created go; a file that was there before gets its original content back, never deleted (L7).
 * Removals are blocking calls, as a create's writes are (common/io/in-place.ts): through the thread pool the
 * ~10 calls of a delete (lstat + unlink per file, rmdir per directory) cost 50-150 µs of scheduling each, in a
 * row, several times that on a loaded machine, for calls of ~40 µs (unlink) to 0.1-0.4 ms (rmdir, ext4).
 */
async function removeFiles(files: DnsFilesConfig): Promise<void> {
  const managed = [files.hostsPath, files.resolvConfPath];
  // Where each owned directory led when the files were pinned: known before the pins go (below).
  const dirs = [...new Set(files.ownedDirs)].map((d) => ({ d, location: pinnedLocation(d, managed) }));
  // Every file is tried, whatever fails before it: a hash file left behind would make the next sandbox of this
  // name take its fresh resolv.conf for a user's edit (C4). The first failure is thrown once all were tried.
  const failures: unknown[] = [];
  for (const p of new Set([...managed, files.resolvConfHashPath])) {
    // A path that leads elsewhere than when sandns took it (a directory on it replaced by a symlink) is left alone:
    // its delete or put-back would land on someone else's file (L7). The removal checks again on the directory it
    // goes through, and the put-back on the file it opens, so a swap after this check is caught too.
    const location = pinnedLocation(p);
    if (!stillPinned(p)) {
      unpinLocation(p);
      continue;
    }
    try {
      const backup = files.originals?.[p];
      if (backup !== undefined) await putBackOriginal(p, backup);
      else if (location !== undefined) removeAtLocation(p, location);
      else rmSync(p, { force: true });
      unpinLocation(p);
    } catch (err) {
      failures.push(err);
    }
  }
  rmSync(digestTempPath(files.resolvConfHashPath), { force: true }); // a digest write a crash cut short
  // Directories sandns made for the sandbox go too, when empty (the originals' one included, once they are back);
  // a caller's own directories stay.
  for (const { d, location } of dirs) {
    try {
      if (location !== undefined) removeAtLocation(d, location, true);
      else rmdirSync(d);
    } catch {
      // not empty (a caller's file) or gone already: it stays, or there is nothing to do
    }
  }
  if (failures.length > 0) throw failures[0];
}
