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
import type { Logger } from '../common/log.js';
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

/** What joining and releasing keys needs from the controller. */
export interface KeyDeps {
  /** Persist the whole model (a key set or released: the sandbox's record). */
  readonly changed: () => void;
  readonly logger: Logger;
}

/**
 * Join every claimed endpoint of a keyed sandbox (a key set, or a restart that came between a key set and its
 * joins), in R4 order. Each stays claimed when its join fails (Endpoint.plug), so it waits for the next key and is
 * never written unclaimed (restore deletes an unclaimed endpoint that a connect made, L6). `all`: go on past a
 * failure (restore); else stop at the first (a key set, which then gives the key back). Throws the first failure.
 */
export async function joinDeferred(sb: Sandbox, all = false): Promise<void> {
  const failures: unknown[] = [];
  for (const ep of deferred(sb)) {
    // Left, deleted or joined meanwhile (each join awaits): not this loop's any more.
    if (ep.sandbox !== sb || ep.joinInfo !== undefined || ep.joining !== undefined) continue;
    try {
      await ep.plug(sb);
    } catch (err) {
      failures.push(err);
      if (!all) break;
    }
  }
  if (failures.length > 0) throw failures[0];
}

/**
 * Give a `late` sandbox its namespace (`netnsPath`, e.g. /proc/<pid>/ns/net
 * or a bind mount) and join its claimed endpoints; on failure the key is
 * given back and every endpoint waits again, claimed. Throws
 * ERR_SANDBOX_NOT_EXTERNAL (400) for an `owned` or `path` sandbox,
 * ERR_SANDBOX_KEY_SET (409) when it has a key, ERR_SANDBOX_NETNS when the
 * path is not a network namespace, and what join throws.
 */
export async function setSandboxKey(sb: Sandbox, netnsPath: string, deps: KeyDeps): Promise<void> {
  if (!isLateKey(sb)) throw new SandboxNotExternalError(sb.id);
  if (sb.netnsPath !== '') throw new SandboxKeySetError(sb.id, sb.netnsPath);
  await sb.setKey(netnsPath);
  deps.changed();
  try {
    await joinDeferred(sb);
  } catch (err) {
    // The endpoints that joined leave, claimed still (releaseSandboxKey); the one that failed never stopped being.
    await releaseSandboxKey(sb, deps).catch((e: unknown) => deps.logger.warn({ err: e, sandbox: sb.id }, 'giving a refused key back failed: an endpoint may no longer wait for the next key'));
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
export async function releaseSandboxKey(sb: Sandbox, deps: KeyDeps): Promise<void> {
  if (!isLateKey(sb)) throw new SandboxNotExternalError(sb.id);
  if (sb.netnsPath === '') return;
  const joined = [...sb.endpoints.values()].filter((e) => e.joinInfo !== undefined).sort((a, b) => Number(a.gateway) - Number(b.gateway));
  // Every endpoint leaves, claimed still (its unplug makes it a claim in the step it leaves), even when one leave
  // fails (a leave goes whatever fails, then throws): the first failure is thrown once the key is released.
  const failures: unknown[] = [];
  for (const ep of joined) {
    await ep.unplug(sb).catch((err: unknown) => {
      // Left meanwhile by someone else (a vanished link's drop deleted it): what this release wanted.
      if (err instanceof EndpointNotJoinedError && ep.sandbox !== sb) return;
      failures.push(err);
    });
  }
  await sb.clearKey();
  deps.changed();
  if (failures.length > 0) throw failures[0];
}
