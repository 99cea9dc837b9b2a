/**
 * The runtime's parameters (CNI spec 1.0.0 "Parameters"): CNI_COMMAND,
 * CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH. Checked once
 * here (G9): ADD and CHECK need a container id, a namespace and an
 * interface name; DEL needs no namespace (containerd sends an empty one).
 */
import { ifnameProblem } from '../common/ifname.js';
import { CniEnvError } from './errors.js';
import type { CniCommand } from './spec.js';

/** One invocation's parameters, checked. */
export interface Invocation {
  readonly command: CniCommand;
  readonly containerId: string;
  /** '' on DEL when the runtime sent none. */
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS as key → value (IgnoreUnknown and friends included). */
  readonly args: ReadonlyMap<string, string>;
}

const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION'];
/** Spec: "alphanumeric, hyphen, underscore, period", starting alphanumeric. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Parse CNI_ARGS ("K1=V1;K2=V2"); throws code 4 on a pair without '='. */
export function parseCniArgs(raw: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === undefined || raw.trim() === '') return out;
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniEnvError('CNI_ARGS', `${JSON.stringify(pair)} is not KEY=VALUE`);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

function need(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const v = env[name];
  if (v === undefined || v === '') throw new CniEnvError(name, 'missing (the runtime must set it)');
  return v;
}

/** Parse and check the environment of one invocation. */
export function parseInvocation(env: Readonly<Record<string, string | undefined>>): Invocation {
  const command = need(env, 'CNI_COMMAND');
  if (!COMMANDS.includes(command)) throw new CniEnvError('CNI_COMMAND', `unknown command ${JSON.stringify(command)} (known: ${COMMANDS.join(', ')})`);
  if (command === 'VERSION') return { command: 'VERSION', containerId: '', netns: '', ifname: '', args: new Map() };
  const containerId = need(env, 'CNI_CONTAINERID');
  if (!CONTAINER_ID.test(containerId)) throw new CniEnvError('CNI_CONTAINERID', 'must be letters, digits, "-", "_" or ".", starting with a letter or digit');
  const ifname = need(env, 'CNI_IFNAME');
  const problem = ifnameProblem(ifname);
  if (problem !== undefined) throw new CniEnvError('CNI_IFNAME', `${problem}: must be a Linux interface name (1-15 bytes, no "/", ":", "%" or spaces)`);
  const netns = command === 'DEL' ? (env.CNI_NETNS ?? '') : need(env, 'CNI_NETNS');
  if (netns !== '' && !netns.startsWith('/')) throw new CniEnvError('CNI_NETNS', 'must be an absolute path');
  return { command: command as CniCommand, containerId, netns, ifname, args: parseCniArgs(env.CNI_ARGS) };
}
