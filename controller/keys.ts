/**
 * Keys set late (OCI hook; libnetwork's SetKey): a sandbox created with
 * `external` has its files but no namespace ("pending"). Endpoints connected
 * meanwhile are claimed and join when the key arrives, as libnetwork's Join
 * before SetKey; releasing the key (the container stopped) leaves them and
 * makes them wait again. Built on the public join/leave, so every step is
 * persisted and unwound as theirs are.
 */
import { compareEndpoints } from '../sandbox/index.js';
import { sandboxEndpoint } from './attach.js';
import type { Endpoint } from './endpoint.js';
import type { Sandbox } from './sandbox.js';
import { EndpointNotJoinedError, SandboxKeySetError, SandboxNotExternalError } from './errors.js';

/** True when the sandbox takes its key late (created with `external`). */
export function isLateKey(sb: Sandbox): boolean {
  return sb.keyMode === 'late';
}

function inJoinOrder(eps: readonly Endpoint[]): Endpoint[] {
  return [...eps].sort((a, b) => compareEndpoints(sandboxEndpoint(a), sandboxEndpoint(b)));
}

/** Claimed endpoints without plumbing, in R4 order (the first non-internal one gets the default route). */
function deferred(sb: Sandbox): Endpoint[] {
  return inJoinOrder([...sb.endpoints.values()].filter((e) => e.joinInfo === undefined && e.joining === undefined));
}

/** Join every claimed endpoint of a keyed sandbox (a key set, or a restore that stopped half-way). */
export async function joinDeferred(sb: Sandbox): Promise<void> {
  for (const ep of deferred(sb)) {
    const { priority } = ep;
    const ifname = ep.attachment?.ifname;
    // Unclaimed in memory only: the join claims it again in the same synchronous run and writes that claim ahead, so
    // no write ever shows it unclaimed (restore would delete it as a connect cut short).
    ep.attach(undefined);
    sb.endpoints.delete(ep.id);
    await ep.join(sb, { priority, ...(ifname === undefined ? {} : { ifname }) });
  }
}

/**
 * Give a `late` sandbox its namespace (`netnsPath`, e.g. /proc/<pid>/ns/net
 * or a bind mount) and join its claimed endpoints; on failure everything
 * waits again. `changed` is told to persist. Throws
 * ERR_SANDBOX_NOT_EXTERNAL (400) for an `owned` or `path` sandbox,
 * ERR_SANDBOX_KEY_SET (409) when it has a key, ERR_SANDBOX_NETNS when the
 * path is not a network namespace, and what join throws.
 */
export async function setSandboxKey(sb: Sandbox, netnsPath: string, changed: () => void): Promise<void> {
  if (!isLateKey(sb)) throw new SandboxNotExternalError(sb.id);
  if (sb.netnsPath !== '') throw new SandboxKeySetError(sb.id, sb.netnsPath);
  const waiting = deferred(sb);
  const ifnames = new Map(waiting.map((e) => [e, e.attachment?.ifname]));
  const priorities = new Map(waiting.map((e) => [e, e.priority]));
  await sb.setKey(netnsPath);
  changed();
  try {
    await joinDeferred(sb);
  } catch (err) {
    await releaseSandboxKey(sb, changed).catch(() => undefined);
    for (const ep of waiting) {
      if (ep.sandbox === undefined && ep.network.endpoints.has(ep.id)) await ep.join(sb, { priority: priorities.get(ep) ?? 0, ...(ifnames.get(ep) === undefined ? {} : { ifname: ifnames.get(ep)! }) }).catch(() => undefined);
    }
    throw err;
  }
}

/**
 * Take a `late` sandbox's key back (the container stopped): every joined
 * endpoint leaves the namespace and stays claimed (Endpoint.unplug;
 * non-gateway first, so no route moves), then the namespace is forgotten
 * (never deleted). Nothing to do without a key. Throws ERR_SANDBOX_NOT_EXTERNAL (400) for an `owned` or
 * `path` sandbox.
 */
export async function releaseSandboxKey(sb: Sandbox, changed: () => void): Promise<void> {
  if (!isLateKey(sb)) throw new SandboxNotExternalError(sb.id);
  if (sb.netnsPath === '') return;
  const joined = [...sb.endpoints.values()].filter((e) => e.joinInfo !== undefined).sort((a, b) => Number(a.gateway) - Number(b.gateway));
  const priorities = new Map(joined.map((e) => [e, e.priority]));
  const asked = new Map(joined.map((e) => [e, e.attachment?.ifname]));
  // Every endpoint leaves, and is claimed again, even when one leave fails (a leave goes whatever fails, then
  // throws): the first failure is thrown once the key is released.
  const failures: unknown[] = [];
  for (const ep of joined) {
    await ep.unplug(sb).catch((err: unknown) => {
      // Left meanwhile by someone else (a vanished link's drop): what this release wanted.
      if (err instanceof EndpointNotJoinedError && ep.sandbox !== sb) return;
      failures.push(err);
    });
  }
  await sb.clearKey();
  changed();
  for (const ep of inJoinOrder(joined)) {
    if (ep.sandbox !== undefined) continue; // claimed again by its unplug (or never left: its join unsettled)
    // Gone meanwhile (a vanished link's drop, a cluster disconnect deleted it): nothing to claim.
    if (!ep.network.endpoints.has(ep.id)) continue;
    const ifname = asked.get(ep);
    // One claim that fails (its state write) never keeps the later endpoints from theirs.
    await ep.join(sb, { priority: priorities.get(ep) ?? 0, ...(ifname === undefined ? {} : { ifname }) }).catch((err: unknown) => failures.push(err));
  }
  if (failures.length > 0) throw failures[0];
}
