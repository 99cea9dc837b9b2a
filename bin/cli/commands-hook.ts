/**
 * `sandns oci-hook`: an OCI runtime hook for runc and crun, like libnetwork's
 * setkey hook. The runtime writes the container's state JSON on stdin.
 * - createRuntime / prestart (status "creating"): pin the container's network
 *   namespace from its pid (`ip netns attach`, a bind mount that outlives the
 *   hook and a daemon restart) under a name of this container's own, then make
 *   it the key of the pre-created `external` sandbox: its claimed endpoints
 *   join, its listener starts.
 * - poststop (status "stopped"): remove this container's pin, then release
 *   the key only if it is this container's (the daemon checks it too), so a
 *   second container refused the same sandbox never takes the first one's
 *   network away.
 * The sandbox is the annotation `sandns.sandbox`, else the container id. The
 * hook's calls share one budget (HOOK_BUDGET_MS), below the runtime's own hook
 * timeout, so the pin is removed before the runtime kills the hook.
 */
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { isObjectName, OBJECT_NAME_RULE } from '../../common/object-name.js';
import type { SandboxInfo } from '../../controller/index.js';
import type { ApiClient } from './client.js';
import type { CliContext } from './context.js';
import { ApiCallError, HookPinError, UsageError } from './errors.js';

/**
 * The hook's whole budget (ms): every API call and `ip` command gets what is left of it, so the hook ends, its own
 * cleanup done, before runtimes kill it (after 30 s by default: runc, crun).
 */
export const HOOK_BUDGET_MS = 25_000;

/** The OCI state a runtime gives a hook (runtime-spec "State"). */
export interface OciState {
  readonly id: string;
  readonly status: string;
  readonly pid?: number;
  readonly bundle?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** What the hook does. */
export type HookAction = 'attach' | 'release';

/** The annotation naming the sandbox (default: the container id). */
export const SANDBOX_ANNOTATION = 'sandns.sandbox';

const ATTACH_PHASES = ['createRuntime', 'prestart'];

/** Parse the runtime's state JSON; throws ERR_CLI_USAGE saying what is missing. */
export function parseOciState(text: string): OciState {
  let s: Partial<OciState>;
  try {
    s = JSON.parse(text) as Partial<OciState>;
  } catch {
    throw new UsageError('oci-hook: stdin is not the OCI state JSON (run it as a runtime hook, which writes the state on stdin)');
  }
  if (typeof s !== 'object' || s === null || typeof s.id !== 'string' || s.id === '' || typeof s.status !== 'string') {
    throw new UsageError('oci-hook: the OCI state has no id or status');
  }
  const named = (s.annotations as Record<string, unknown> | undefined)?.[SANDBOX_ANNOTATION];
  if (named !== undefined && typeof named !== 'string') throw new UsageError(`oci-hook: the annotation ${SANDBOX_ANNOTATION} must be a string (a sandbox name)`);
  return s as OciState;
}

/** attach for createRuntime/prestart (or status creating/created), release for poststop (or status stopped). */
export function hookAction(state: OciState, phase: string | undefined): HookAction {
  if (phase !== undefined) {
    if (ATTACH_PHASES.includes(phase)) return 'attach';
    if (phase === 'poststop') return 'release';
    throw new UsageError(`oci-hook: unsupported hook ${phase} (use it for createRuntime, prestart or poststop)`);
  }
  if (state.status === 'creating' || state.status === 'created') return 'attach';
  if (state.status === 'stopped') return 'release';
  throw new UsageError(`oci-hook: cannot tell the hook from status "${state.status}": name it (oci-hook createRuntime | poststop)`);
}

/** The sandbox of a container: --sandbox, else the annotation, else the container id; throws ERR_CLI_USAGE for a bad name. */
export function sandboxOf(state: OciState, override?: string): string {
  const name = override ?? state.annotations?.[SANDBOX_ANNOTATION] ?? state.id;
  if (!isObjectName(name)) throw new UsageError(`oci-hook: sandbox name ${JSON.stringify(name).slice(0, 80)} ${OBJECT_NAME_RULE}`);
  return name;
}

/**
 * The name of a container's pin under /run/netns: the sandbox's name and 12 hex digits of the container id's
 * sha256. Its own per container: two containers given one sandbox never replace each other's pin, and the key
 * (the pin's path) says which container holds the sandbox.
 */
export function pinName(sandbox: string, containerId: string): string {
  return `sandns-${sandbox}-${createHash('sha256').update(containerId).digest('hex').slice(0, 12)}`;
}

/** The pin name older hooks used for every container of a sandbox (still released by poststop). */
function legacyPinName(sandbox: string): string {
  return `sandns-${sandbox}`;
}

/** What the hook needs from the world (injected in unit tests). */
export interface HookIo {
  readonly client: ApiClient;
  readStdin(): Promise<string>;
  /** `ip netns attach <name> <pid>`, replacing a stale pin of that name (this container's own, from an earlier try). */
  pin(name: string, pid: number): Promise<void>;
  /** `ip netns delete <name>` (idempotent). */
  unpin(name: string): Promise<void>;
  /** Whether /run/netns/<name> is there and is the network namespace of process `pid` (same nsfs identity). */
  pinIsOf(name: string, pid: number): Promise<boolean>;
}

const seg = encodeURIComponent;

async function attach(io: HookIo, sandbox: string, state: OciState): Promise<void> {
  if (typeof state.pid !== 'number' || state.pid <= 0) throw new UsageError('oci-hook: the OCI state has no pid (createRuntime and prestart have one)');
  const name = pinName(sandbox, state.id);
  const own = `/run/netns/${name}`;
  const info = await io.client.call<SandboxInfo>('GET', `/sandboxes/${seg(sandbox)}`);
  if (info.netnsPath === own) {
    if (await io.pinIsOf(name, state.pid)) return; // this container's key, in place: a createRuntime run again
    // A key left by an earlier run of this container id whose poststop could not release it (its pin is gone, or
    // is another namespace now): released first, then attached as new.
    await io.client.call('DELETE', `/sandboxes/${seg(sandbox)}/key?netnsPath=${seg(own)}`);
  } else if (info.netnsPath !== '') {
    throw new ApiCallError('ERR_SANDBOX_KEY_SET', `oci-hook: sandbox ${sandbox} is attached to ${info.netnsPath} already (another container's); nothing was changed`, 409);
  }
  await io.pin(name, state.pid);
  try {
    await io.client.call('PUT', `/sandboxes/${seg(sandbox)}/key`, { netnsPath: `/run/netns/${name}` });
  } catch (err) {
    await io.unpin(name).catch(() => undefined);
    throw err;
  }
}

/**
 * Poststop: this container's pin goes first, whatever follows (the daemon's sockets keep the namespace while its
 * endpoints leave). The key is released only when it is this container's pin (or an older hook's shared pin), and
 * the daemon checks that again (`?netnsPath=`): a container that was refused the sandbox, and is stopped, must not
 * take the running one's network away.
 */
async function release(io: HookIo, sandbox: string, state: OciState): Promise<void> {
  const own = `/run/netns/${pinName(sandbox, state.id)}`;
  const legacy = `/run/netns/${legacyPinName(sandbox)}`;
  // A pin that cannot be removed does not keep the key: the release still runs, and the failure is the answer.
  const unpinError = await io.unpin(pinName(sandbox, state.id)).then(() => undefined, (err: unknown) => err);
  const info = await io.client.call<SandboxInfo>('GET', `/sandboxes/${seg(sandbox)}`);
  if (info.netnsPath === own || info.netnsPath === legacy) {
    try {
      await io.client.call('DELETE', `/sandboxes/${seg(sandbox)}/key?netnsPath=${seg(info.netnsPath)}`);
    } finally {
      if (info.netnsPath === legacy) await io.unpin(legacyPinName(sandbox));
    }
  }
  if (unpinError !== undefined) throw unpinError;
}

/** Run the hook: read the state, then attach or release. */
export async function runOciHook(io: HookIo, phase: string | undefined, override: string | undefined): Promise<{ action: HookAction; sandbox: string }> {
  const state = parseOciState(await io.readStdin());
  const action = hookAction(state, phase);
  const sandbox = sandboxOf(state, override);
  await (action === 'attach' ? attach(io, sandbox, state) : release(io, sandbox, state));
  return { action, sandbox };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

// Runtimes start hooks with the env of the hook entry only: give `ip` a PATH.
const PATH = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The time left of the hook's budget (ms), at least 1 s: a call that cannot finish in it is cut. */
type Remaining = () => number;

/** Run `ip` within the budget (10 s at most); execa is loaded here only, so plain CLI verbs do not pay for it. */
async function ip(args: string[], remaining: Remaining): Promise<{ exitCode: number; stderr: string }> {
  const { execa } = await import('execa');
  const r = await execa('ip', args, { env: { PATH }, timeout: Math.min(10_000, remaining()), reject: false });
  return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
}

/** A client whose every call gets what is left of the budget as its deadline. */
function budgeted(make: (timeoutMs: number) => ApiClient, socketPath: string, remaining: Remaining): ApiClient {
  return {
    socketPath,
    call: (method, path, body) => make(remaining()).call(method, path, body),
    text: (path) => make(remaining()).text(path),
  };
}

function realIo(client: ApiClient, remaining: Remaining): HookIo {
  return {
    client,
    readStdin: () => readAll(process.stdin),
    async pin(name, pid) {
      await ip(['netns', 'delete', name], remaining); // this container's stale pin (an earlier try), if any
      const r = await ip(['netns', 'attach', name, String(pid)], remaining);
      if (r.exitCode !== 0) throw new HookPinError(`oci-hook: ip netns attach ${name} ${pid} failed: ${r.stderr}`);
    },
    async unpin(name) {
      const r = await ip(['netns', 'delete', name], remaining);
      if (r.exitCode !== 0 && !/No such file/.test(r.stderr)) throw new HookPinError(`oci-hook: ip netns delete ${name} failed: ${r.stderr}`);
    },
    async pinIsOf(name, pid) {
      const { stat } = await import('node:fs/promises');
      const [pin, ns] = await Promise.all([`/run/netns/${name}`, `/proc/${pid}/ns/net`].map((p) => stat(p).catch(() => undefined)));
      return pin !== undefined && ns !== undefined && pin.dev === ns.dev && pin.ino === ns.ino;
    },
  };
}

/** Add the `oci-hook` verb. */
export function addHookCommands(program: Command, ctx: CliContext): void {
  program
    .command('oci-hook [hook]')
    .description('OCI runtime hook (runc/crun): createRuntime/prestart attaches the container to its external sandbox, poststop releases it; reads the state on stdin')
    .option('--sandbox <name>', `sandbox to use (default: annotation ${SANDBOX_ANNOTATION}, else the container id)`)
    .action(async (hook: string | undefined, o: { sandbox?: string }, cmd: Command) => {
      const deadline = Date.now() + HOOK_BUDGET_MS;
      const remaining: Remaining = () => Math.max(1_000, deadline - Date.now());
      const client = budgeted((timeoutMs) => ctx.client(cmd, { timeoutMs }), ctx.socketPath(cmd), remaining);
      const r = await runOciHook(realIo(client, remaining), hook, o.sandbox);
      ctx.emit(cmd, r, (x) => `${x.sandbox} ${x.action === 'attach' ? 'attached' : 'released'}\n`);
    });
}
