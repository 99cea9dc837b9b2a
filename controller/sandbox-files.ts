/**
 * Where a new sandbox's files go, checked before anything is written (spec
 * §4): paths absolute and normal, inside the allowed root when one is set,
 * no symlink at a file or at a directory sandns would own, and a file that
 * exists already is taken over with its original content kept aside.
 * Two sandboxes never share a managed file or a namespace name (L5).
 */
import { dirname, join } from 'node:path';
import { InvalidOptionError } from '../common/errors.js';
import { checkManagedDir, checkManagedFile, checkPathShape, entryExists, netnsIdentity, netnsNameTaken, NetnsExistsError } from '../sandbox/index.js';
import type { Logger } from '../common/log.js';
import type { SandboxConfig } from './sandbox.js';
import type { SandboxOptions } from './options.js';
import { SandboxFileInUseError, SandboxNetnsInUseError } from './errors.js';

/** The controller's settings the plan needs. */
export interface FilesPlanContext {
  readonly filesRoot: string;
  readonly runDir: string;
  /** Where original contents are kept: under the state directory when there is one (it survives a reboot). */
  readonly originalsDir: string;
  readonly originResolvConf: string;
  readonly allowedRoot?: string | undefined;
}

/** What newSandbox records and hands to openSandbox. */
export interface FilesPlan {
  readonly resolvConfHashPath: string;
  readonly ownedDirs: string[];
  readonly originals: Record<string, string>;
}

/** Paths and namespace names in use by other sandboxes, live or being made. */
export interface Claims {
  readonly paths: Set<string>;
  readonly netns: Set<string>;
  /** Namespaces by identity (their nsfs device and inode, whatever path leads to them) → the sandbox holding it. */
  readonly namespaces: Map<string, string>;
  /** The identity each sandbox holds (the reverse of `namespaces`). */
  readonly namespaceOf: Map<string, string>;
}

/**
 * Claim the namespace at `path` for sandbox `id` (L5: one namespace, one sandbox; a second sandbox there would find
 * its interface names and port 53 taken by the first). Synchronous (a blocking stat of an nsfs inode, then the check
 * and the claim), so of two sandboxes adopting it at once one gets it. Throws ERR_SANDBOX_NETNS_IN_USE (409) naming
 * the holder.
 */
export function claimNetns(claims: Claims, id: string, path: string): void {
  const identity = netnsIdentity(path);
  if (identity === undefined) return; // not there: the key's own check refuses it, with the reason
  const holder = claims.namespaces.get(identity);
  if (holder !== undefined && holder !== id) throw new SandboxNetnsInUseError(path, holder);
  releaseNetns(claims, id);
  claims.namespaces.set(identity, id);
  claims.namespaceOf.set(id, identity);
}

/** Give back the namespace sandbox `id` holds (its key released, or the sandbox gone). */
export function releaseNetns(claims: Claims, id: string): void {
  const identity = claims.namespaceOf.get(id);
  if (identity === undefined) return;
  claims.namespaceOf.delete(id);
  if (claims.namespaces.get(identity) === id) claims.namespaces.delete(identity);
}

/** Claim the sandbox's files and namespace name synchronously (L5); returns the release. */
export function claimSandboxNames(config: SandboxConfig, claims: Claims): () => void {
  const paths = [config.hostsPath, config.resolvConfPath];
  if (config.netnsName !== undefined && claims.netns.has(config.netnsName)) throw new NetnsExistsError(config.netnsName);
  const taken = paths.find((p) => claims.paths.has(p));
  if (taken !== undefined) throw new SandboxFileInUseError(taken);
  for (const p of paths) claims.paths.add(p);
  if (config.netnsName !== undefined) claims.netns.add(config.netnsName);
  return () => {
    for (const p of paths) claims.paths.delete(p);
    if (config.netnsName !== undefined) claims.netns.delete(config.netnsName);
  };
}

/** Run `make` with the sandbox's names claimed; they stay claimed by the sandbox it returns, and are given back if it throws. */
export async function withSandboxClaims<T extends { releaseClaims: (() => void) | undefined }>(config: SandboxConfig, claims: Claims, make: () => Promise<T>): Promise<T> {
  const release = claimSandboxNames(config, claims);
  try {
    const made = await make();
    made.releaseClaims = release;
    return made;
  } catch (err) {
    release();
    throw err;
  }
}

/** claimSandboxNames for a restored sandbox: a clash (a hand-edited state) is logged, not fatal. */
export function claimRestored(config: SandboxConfig, claims: Claims, logger: Logger): (() => void) | undefined {
  try {
    return claimSandboxNames(config, claims);
  } catch (err) {
    logger.warn({ err, sandbox: config.id }, 'restored sandbox shares a file or namespace name with another');
    return undefined;
  }
}

/** Check the sandbox's paths and namespace name against the disk (after claimSandboxNames). */
export async function planSandboxFiles(config: SandboxConfig, options: SandboxOptions, ctx: FilesPlanContext): Promise<FilesPlan> {
  if (config.hostsPath === config.resolvConfPath) throw new InvalidOptionError('resolvConfPath', 'must differ from hostsPath');
  for (const [field, p] of [['hostsPath', config.hostsPath], ['resolvConfPath', config.resolvConfPath]] as const) {
    if (p === ctx.originResolvConf) throw new InvalidOptionError(field, `is the origin resolv.conf (${p}) every sandbox derives from`);
  }
  if (config.netnsName !== undefined && (await netnsNameTaken(config.netnsName))) throw new NetnsExistsError(config.netnsName);
  const ownedDirs = [`${ctx.runDir}/sandboxes/${config.id}`, join(ctx.originalsDir, config.id)];
  if (options.hostsPath === undefined || options.resolvConfPath === undefined) {
    const dir = `${ctx.filesRoot}/${config.netnsName ?? config.id}`;
    if ((await checkManagedDir(dir)) === 'absent') ownedDirs.push(dir);
  }
  const originals: Record<string, string> = {};
  for (const [given, p, name] of [[options.hostsPath, config.hostsPath, 'hosts'], [options.resolvConfPath, config.resolvConfPath, 'resolv.conf']] as const) {
    const root = given === undefined ? undefined : ctx.allowedRoot;
    if ((await checkManagedFile(p, root)) === 'file') originals[p] = join(ctx.originalsDir, config.id, name);
  }
  // The directories a given path (checked above) needs that do not exist yet are made for this sandbox, so they go
  // with it too (deepest first: each is removed only when empty). The walk stops at the first entry that exists.
  const made: string[] = [];
  for (const given of [options.hostsPath === undefined ? undefined : config.hostsPath, options.resolvConfPath === undefined ? undefined : config.resolvConfPath]) {
    for (let dir = given === undefined ? '/' : dirname(given); dir !== '/' && !made.includes(dir) && !entryExists(dir); dir = dirname(dir)) {
      made.push(dir);
    }
  }
  ownedDirs.push(...made.filter((d) => !ownedDirs.includes(d)).sort((a, b) => b.split('/').length - a.split('/').length));
  return { resolvConfHashPath: `${ctx.runDir}/sandboxes/${config.id}/resolv.conf.hash`, ownedDirs, originals };
}

/** Check the shape of caller-given file paths at the edge (G9): absolute, normal, inside the allowed root. */
export function checkGivenPaths(options: SandboxOptions, allowedRoot: string | undefined): void {
  for (const p of [options.hostsPath, options.resolvConfPath]) if (p !== undefined) checkPathShape(p, allowedRoot);
}
