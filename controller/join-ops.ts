/**
 * The controller's join and leave (L1, L2, L5, R15): an endpoint into a
 * sandbox (driver plumbing, records, view, files, listener) and out of it
 * again, and the leave-and-delete every disconnect goes through (the API's,
 * the link watch's drop of a vanished interface, a cluster disconnect, a
 * sandbox delete). One join and one leave at a time per endpoint; the claim is
 * on disk before any plumbing (L6).
 */
import { epKey, StateWriteError } from '../store/index.js';
import { claimOnly, plumbJoin, plumbLeave } from './attach.js';
import type { OpsContext } from './context.js';
import type { Endpoint } from './endpoint.js';
import { provisionalOf } from './endpoint.js';
import * as errors from './errors.js';
import { unsavedDone, unsavedUndone } from './journal.js';
import { deleteEndpoint } from './network-ops.js';
import { checkIfname, checkPriority, type JoinOptions } from './options.js';
import type { Sandbox } from './sandbox.js';
import { endpointKeys } from './snapshot.js';

/**
 * Join `ep` to `sb`. A sandbox without its key yet only claims the endpoint. `resume`: `ep` is claimed by `sb`
 * already (it waited for the key `sb` has now): it joins, and whatever fails it stays claimed, never unclaimed in
 * memory or on disk. Throws ERR_ENDPOINT_ALREADY_JOINED, ERR_SANDBOX_NOT_FOUND, ERR_NETWORK_NOT_FOUND,
 * ERR_ENDPOINT_NOT_FOUND, ERR_SANDBOX_ALREADY_ON_NETWORK, ERR_SANDBOX_IFNAME_IN_USE, ERR_STORE_WRITE_FAILED (nothing
 * plumbed), and the plumbing's errors (everything undone); with `resume`, ERR_ENDPOINT_NOT_JOINED when not claimed.
 */
export async function join(ctx: OpsContext, ep: Endpoint, sb: Sandbox, options: JoinOptions, resume = false): Promise<void> {
  const rival = provisionalOf([...sb.endpoints.values()].filter((e) => e !== ep && e.network === ep.network));
  if (rival !== undefined) {
    await rival; // L5: refuse on answered state only, then look again
    ctx.assertOpen();
    return join(ctx, ep, sb, options, resume);
  }
  if (resume && (ep.sandbox !== sb || ep.joinInfo !== undefined || ep.joining !== undefined)) throw new errors.EndpointNotJoinedError(ep.name, sb.id);
  if (!resume && ep.sandbox !== undefined) throw new errors.EndpointAlreadyJoinedError(ep.name, ep.sandbox.id);
  if (!ctx.sandboxes.has(sb.id) || sb.deleting) throw new errors.SandboxNotFoundError(sb.id);
  if (!ctx.networks.has(ep.network.id)) throw new errors.NetworkNotFoundError(ep.network.name);
  if (!ep.network.endpoints.has(ep.id)) throw new errors.EndpointNotFoundError(ep.name, ep.network.name);
  if ([...sb.endpoints.values()].some((e) => e !== ep && e.network === ep.network)) throw new errors.AlreadyOnNetworkError(sb.id, ep.network.name);
  if (ep.network.scope === 'global') ctx.cluster?.store.assertAvailable('join a global network');
  if (resume && sb.netnsPath === '') return; // its key went meanwhile: it waits for the next one
  // Claimed synchronously: a concurrent join of the same endpoint fails (G11).
  const wantsGateway = sb.netnsPath !== '' && !ep.network.internal && ![...sb.endpoints.values()].some((e) => e.gateway);
  const ifname = checkIfname(options.ifname);
  if (ifname !== undefined && sb.ifnames.has(ifname)) throw new errors.IfnameInUseError(sb.id, ifname);
  // A claim taken up again keeps the priority it was saved with (older versions stored any integer).
  const priority = resume ? options.priority ?? 0 : checkPriority(options.priority);
  ep.attach({ sandbox: sb, priority, gateway: wantsGateway, link: undefined, ...(ifname === undefined ? {} : { ifname }), ...(resume ? { resumed: true } : {}) });
  sb.endpoints.set(ep.id, ep);
  // Undone: out of the sandbox, or, for a claim that waited for this key, claimed again in the same step.
  const release = (): void => {
    if (resume) claimOnly(ep, sb, priority, ifname);
    else void (ep.attach(undefined), sb.endpoints.delete(ep.id));
  };
  const claimed = (): Promise<void> => ctx.journal.committed({ endpoint: ep.name, sandbox: sb.id }, 'endpoint claimed: it joins when the sandbox gets its key', ...endpointKeys(ep));
  if (sb.netnsPath === '') return await unsavedUndone(ctx.logger, claimed(), 'the endpoint did not join', async () => release());
  const dev = sb.reserveIfname(ifname);
  // The claim is on disk before any plumbing; when that write fails nothing is plumbed and the claim goes (L6).
  const ahead = ctx.journal.flushed(epKey(ep.id)).catch(async (err: unknown) => {
    release();
    sb.ifnames.delete(dev);
    throw err instanceof StateWriteError ? err.withOutcome('the endpoint did not join') : err;
  });
  const undoJoin = (): Promise<void> => plumbLeave(ctx, ep, sb, { keepClaim: resume });
  const joining = ahead.then(() => plumbJoin(ctx, ep, sb, dev, wantsGateway, release))
    .then(() => ctx.cluster?.publishJoined(ep, sb, undoJoin));
  ep.joining = joining;
  try {
    await joining;
  } catch (err) {
    // Claimed again (release): on disk it says 'joining' since the write ahead; the claim is what is written next.
    if (resume) ctx.journal.changed(epKey(ep.id));
    throw err;
  } finally {
    ep.joining = undefined;
  }
  // On disk the join is still 'joining', which a restart undoes too (L6).
  await unsavedUndone(ctx.logger, ctx.journal.committed({ endpoint: ep.name, network: ep.network.name, sandbox: sb.id, ifname: dev }, 'endpoint joined', ...endpointKeys(ep)), 'the endpoint did not join', () => leave(ctx, ep, sb, false, false, resume));
}

/**
 * Leave. Names vanish (R15) — on every host for global networks (M5) — then the plumbing. With `refusable` (a
 * disconnect) a refused hosts edit refuses the leave with nothing changed, on this host or others. `durable`: answer
 * once the leave is on disk (else only noted: a sandbox delete's own record covers it). Waits for a join in progress,
 * and for another leave of the endpoint (then looks again). Throws ERR_ENDPOINT_NOT_JOINED when not joined to `sb`;
 * a step that failed after the endpoint left is thrown once the leave is recorded.
 */
export async function leave(ctx: OpsContext, ep: Endpoint, sb: Sandbox, durable = true, refusable = false, keepClaim = false): Promise<void> {
  if (ep.joining !== undefined) await ep.joining.catch(() => undefined);
  // One leave at a time: then look again (L5). A leave waited for that failed reports that to its own caller; this
  // one finds the endpoint gone (a delete or disconnect then goes on, as it asked).
  while (ep.leaving !== undefined) await ep.leaving;
  if (ep.sandbox !== sb) throw new errors.EndpointNotJoinedError(ep.name, sb.id);
  // Claimed before the first step, in the same synchronous run as the check above: a waiter resumed later sees it.
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  ep.leaving = settled;
  sb.leaves.add(settled);
  try {
    await leaveOnce(ctx, ep, sb, durable, refusable, keepClaim);
  } finally {
    settle();
    if (ep.leaving === settled) ep.leaving = undefined;
    sb.leaves.delete(settled);
  }
}

/**
 * leave, once it is the endpoint's only leave in progress. With `keepClaim` (a late key released: the endpoint joins
 * again with the next key) it becomes a claim of `sb` in the same step it leaves (plumbLeave), so no write, its own
 * or a concurrent one, sees it unclaimed (restore deletes an unclaimed endpoint that a connect made).
 */
async function leaveOnce(ctx: OpsContext, ep: Endpoint, sb: Sandbox, durable: boolean, refusable: boolean, keepClaim: boolean): Promise<void> {
  const before = ep.attachment;
  const cluster = ep.network.scope === 'global' ? ctx.cluster : undefined;
  const global = cluster === undefined ? {} : { before: () => cluster.unpublish(ep), undoBefore: () => cluster.publish(ep, sb) };
  // Refused with nothing changed (the endpoint still joined): thrown as is. A step that failed after the endpoint
  // left the sandbox: the leave is recorded all the same, then thrown.
  const failure = await plumbLeave(ctx, ep, sb, { refusable, keepClaim, ...global }).then(() => undefined, (err: unknown) => ({ err }));
  if (failure !== undefined && ep.attachment === before) throw failure.err;
  const fields = { endpoint: ep.name, network: ep.network.name, sandbox: sb.id, ...(keepClaim ? { claimed: true } : {}) };
  const keys = [...endpointKeys(ep), ...[...sb.endpoints.keys()].map(epKey)]; // the default route may have moved
  if (durable) await unsavedDone(ctx.journal.committed(fields, 'endpoint left', ...keys), 'the endpoint left; a restart finds its link gone and drops it');
  else {
    ctx.logger.info(fields, 'endpoint left');
    for (const k of keys) ctx.journal.changed(k);
  }
  if (failure !== undefined) throw failure.err;
}

/**
 * Leave (when joined; `refusable` as in leave) and delete an endpoint. A leave that failed after the endpoint had
 * left (a later step: its veth, a file edit; or its state write, L6) still deletes it, so nothing stays unjoined and
 * out of every sandbox's reach; then the leave's failure is thrown.
 */
export async function leaveAndDelete(ctx: OpsContext, ep: Endpoint, refusable = false, durable = true): Promise<void> {
  const sb = ep.sandbox;
  const failure = sb === undefined ? undefined : await leave(ctx, ep, sb, durable, refusable).then(() => undefined, (err: unknown) => {
    if (ep.sandbox === sb) throw err; // refused: still joined, nothing changed
    // Another leave, in progress when this one began, took it out of `sb`: that is the leave this one asked for.
    if (err instanceof errors.EndpointNotJoinedError && ep.sandbox === undefined) return undefined;
    return { err };
  });
  if (failure === undefined) return deleteEndpoint(ctx, ep);
  await deleteEndpoint(ctx, ep).catch((err: unknown) => ctx.logger.warn({ err, endpoint: ep.name }, 'delete after a failed leave failed'));
  throw failure.err;
}
