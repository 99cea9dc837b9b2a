/**
 * A small libcni stand-in (Debian packages no cnitool), doing what libcni
 * 1.x does with a conflist: ADD runs the plugins in order, threading each
 * result into the next as `prevResult`, and caches the final result; CHECK
 * runs them in order and DEL in reverse, both with the cached result as
 * `prevResult`. Each plugin gets `{...plugin, cniVersion, name}` plus the
 * runtimeConfig keys its `capabilities` declare. Plugins run inside a scratch
 * "host" namespace (nsenter --net), so bridges, veths and sysctls stay there.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

/** A network configuration list (CNI spec "Network configuration"). */
export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

/** Where plugins are found and run. */
export interface CniRuntime {
  /** CNI_PATH directories. */
  readonly pluginDirs: readonly string[];
  /** The namespace path plugins run in. */
  readonly hostNetns: string;
  /** Cache of final ADD results (libcni's results/). */
  readonly cacheDir: string;
  /** Extra environment for every plugin. */
  readonly env?: Readonly<Record<string, string>>;
}

/** One attachment's parameters. */
export interface Attachment {
  readonly containerId: string;
  /** CNI_NETNS ('' allowed on DEL, as containerd sends). */
  readonly netns: string;
  readonly ifname?: string;
  /** CNI_ARGS as given (e.g. `IgnoreUnknown=1;K8S_POD_NAME=web`). */
  readonly args?: string;
  /** Capability args: runtimeConfig before filtering (e.g. {aliases: {net: ['www']}}). */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

/** A plugin's CNI error (stdout JSON, non-zero exit). */
export class CniCallError extends Error {
  constructor(readonly plugin: string, readonly command: string, readonly exitCode: number, readonly result: { code?: number; msg?: string; details?: string }, readonly stderr: string) {
    super(`${plugin} ${command} failed (exit ${exitCode}): ${JSON.stringify(result)} ${stderr}`);
  }
}

function cachePath(rt: CniRuntime, list: ConfList, a: Attachment): string {
  return join(rt.cacheDir, 'results', `${list.name}-${a.containerId}-${a.ifname ?? 'eth0'}`);
}

function pluginBinary(rt: CniRuntime, type: string): string {
  for (const d of rt.pluginDirs) if (existsSync(join(d, type))) return join(d, type);
  throw new Error(`no CNI plugin "${type}" in ${rt.pluginDirs.join(':')}`);
}

/** The stdin of one plugin: its config with name, cniVersion, prevResult and the runtimeConfig its capabilities declare. */
export function pluginStdin(list: ConfList, plugin: Record<string, unknown>, prevResult: unknown, capabilityArgs: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const runtimeConfig = Object.fromEntries(Object.entries(capabilityArgs).filter(([k]) => caps[k] === true));
  return {
    ...plugin, cniVersion: list.cniVersion, name: list.name,
    ...(Object.keys(runtimeConfig).length > 0 ? { runtimeConfig } : {}),
    ...(prevResult === undefined ? {} : { prevResult }),
  };
}

/** Run one plugin; resolves with its parsed stdout (undefined when empty), throws CniCallError on failure. */
export async function execPlugin(rt: CniRuntime, command: string, plugin: Record<string, unknown>, stdin: unknown, a: Attachment): Promise<unknown> {
  const type = String(plugin.type);
  const env = {
    ...process.env, ...rt.env, CNI_COMMAND: command, CNI_CONTAINERID: a.containerId, CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname ?? 'eth0', CNI_PATH: rt.pluginDirs.join(':'), CNI_ARGS: a.args ?? '',
  };
  const r = await execa('nsenter', [`--net=${rt.hostNetns}`, '--', pluginBinary(rt, type)], { input: JSON.stringify(stdin), env, reject: false, timeout: 60_000 });
  const out = r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as unknown);
  if (r.exitCode !== 0) throw new CniCallError(type, command, r.exitCode ?? -1, (out ?? {}) as never, r.stderr);
  return out;
}

/** ADD the list: plugins in order with prevResult threading; the final result is cached and returned. */
export async function cniAdd(rt: CniRuntime, list: ConfList, a: Attachment): Promise<Record<string, unknown>> {
  let prev: unknown;
  for (const p of list.plugins) prev = await execPlugin(rt, 'ADD', p, pluginStdin(list, p, prev, a.capabilityArgs), a);
  await mkdir(join(rt.cacheDir, 'results'), { recursive: true });
  await writeFile(cachePath(rt, list, a), JSON.stringify(prev));
  return prev as Record<string, unknown>;
}

async function cached(rt: CniRuntime, list: ConfList, a: Attachment): Promise<unknown> {
  return readFile(cachePath(rt, list, a), 'utf8').then((t) => JSON.parse(t) as unknown, () => undefined);
}

/** CHECK the list: plugins in order, each with the cached result. */
export async function cniCheck(rt: CniRuntime, list: ConfList, a: Attachment): Promise<void> {
  const prev = await cached(rt, list, a);
  for (const p of list.plugins) await execPlugin(rt, 'CHECK', p, pluginStdin(list, p, prev, a.capabilityArgs), a);
}

/** DEL the list: plugins in reverse order, each with the cached result; the cache entry goes. */
export async function cniDel(rt: CniRuntime, list: ConfList, a: Attachment): Promise<void> {
  const prev = await cached(rt, list, a);
  for (const p of [...list.plugins].reverse()) await execPlugin(rt, 'DEL', p, pluginStdin(list, p, prev, a.capabilityArgs), a);
  await rm(cachePath(rt, list, a), { force: true });
}

/** A plugin directory holding `sandns` (a wrapper starting sandns-cni.js with this node). */
export async function installSandnsPlugin(dir: string, cniJs: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'sandns');
  await writeFile(path, `#!/bin/sh\nexec ${process.execPath} ${cniJs} "$@"\n`, { mode: 0o755 });
  return path;
}
