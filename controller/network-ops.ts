/**
 * The controller's network and endpoint operations (L1, L2, L5): create and
 * delete a network, local (a bridge) or global (the cluster store); create
 * and delete an endpoint with its addresses and published ports. Each runs on
 * the journal's write-ahead records (L3, L6); addresses are allocated
 * synchronously (G11).
 */
import { InvalidOptionError } from '../common/errors.js';
import { NotAttachableError, type Driver } from '../drivers/index.js';
import { netKey } from '../store/index.js';
import { allNetworks, globalBinding, newId, type OpsContext } from './context.js';
import { Endpoint, provisionalOf } from './endpoint.js';
import * as errors from './errors.js';
import { unsavedDone, unsavedUndone } from './journal.js';
import type { Network } from './network.js';
import { checkObjectName, normalizeEndpointOptions, type EndpointOptions, type NetworkOptions } from './options.js';
import { allocateLocal, planNetwork, removeNetwork } from './plan.js';
import { reservePorts } from './ports.js';
import { endpointKeys, networkRecord } from './snapshot.js';

/**
 * Create a network (L1, L2): validate the options, carve its pools, make
 * its bridge through the driver. `options.subnet` defaults to a free /24
 * of the default pool. Throws ERR_INVALID_OPTION / ERR_INVALID_NAME (bad
 * options), ERR_DRIVER_NOT_FOUND, ERR_NETWORK_EXISTS,
 * ERR_NETWORK_SUBNET_OVERLAP, ERR_IPAM_INVALID_SUBNET,
 * ERR_CLUSTER_NOT_CONFIGURED (a global network on a single host).
 */
export async function newNetwork(ctx: OpsContext, driverName: string, name: string, asked: NetworkOptions): Promise<Network> {
  checkObjectName('name', name);
  const driver = ctx.drivers.get(driverName);
  const driverOptions = driver.validateOptions(asked.driverOptions ?? {});
  const key = `net:${name}`;
  // Overlay networks span hosts: they live in the cluster store (docs/overlay.md O1).
  if (driver.dataScope === 'global') {
    if (asked.scope === 'local') throw new InvalidOptionError('scope', `driver ${driverName} makes global networks only`);
    globalBinding(ctx, `--driver ${driverName}`);
  }
  const options: NetworkOptions = driver.dataScope === 'global' ? { ...asked, scope: 'global' } : asked;
  // One allocation step: subnet, bridge name and bridge, never interleaved with another create or delete (L5).
  // The name is checked inside the lock too, so a create that fails later never makes a concurrent one fail (L5).
  const exists = (): boolean => allNetworks(ctx).some((n) => n.name === name);
  const refuse = (): Error => new errors.NetworkExistsError(name);
  if (options.scope === 'global') return ctx.allocation.run(() => ctx.pendingNames.run(key, exists, refuse, () => newGlobalNetwork(ctx, driverName, name, options, driverOptions)));
  return ctx.allocation.run(() => ctx.pendingNames.run(key, exists, refuse, async () => {
    const net = await plan(ctx, driverName, name, options, driverOptions, 'local', driver);
    // In the store before its bridge exists (L3).
    return ctx.journal.around(key, { network: networkRecord(net, 'creating') }, () => driver.createNetwork(net.driverNetwork), async () => {
      ctx.networks.set(net.id, net);
      await unsavedUndone(ctx.logger, ctx.journal.committed({ network: name, subnet: net.pool4.subnet }, 'network created', netKey(net.id)), 'the network was not created', async () => {
        // On disk it is still 'creating', which a restart undoes too: memory and disk agree (L6).
        ctx.networks.delete(net.id);
        await driver.deleteNetwork(net.driverNetwork);
      });
      return net;
    });
  }));
}

/** A global network: in the cluster store (overlap checked in its transaction, M3); its driver objects come with the first local endpoint. */
async function newGlobalNetwork(ctx: OpsContext, driverName: string, name: string, options: NetworkOptions, driverOptions: Readonly<Record<string, unknown>>): Promise<Network> {
  const cluster = globalBinding(ctx, '--scope global');
  cluster.store.assertAvailable('create a global network');
  const net = await cluster.createNetwork(await plan(ctx, driverName, name, options, driverOptions, 'global'));
  ctx.networks.set(net.id, net);
  ctx.logger.info({ network: name, subnet: net.pool4.subnet, scope: 'global' }, 'network created');
  return net;
}

/** Delete a network (saved as 'deleting' first). Throws ERR_NETWORK_NOT_FOUND, ERR_NETWORK_ACTIVE_ENDPOINTS while it has endpoints. */
export async function deleteNetwork(ctx: OpsContext, net: Network): Promise<void> {
  const cluster = ctx.cluster;
  const release = net.scope === 'global' && cluster !== undefined ? () => cluster.deleteNetwork(net) : undefined;
  // Saved as 'deleting' before its bridge goes: a crash from then on is finished at restore, never adopted half-deleted (L3).
  const durably = (work: () => Promise<void>): Promise<void> => ctx.journal.around(`net-rm:${net.id}`, { network: networkRecord(net, 'deleting') }, work, () => undefined);
  await ctx.allocation.run(() => removeNetwork(ctx.networks, net, ctx.drivers.get(net.driver), release, durably));
  await unsavedDone(ctx.journal.committed({ network: net.name }, 'network deleted', netKey(net.id)), 'the network was deleted, and its saved \'deleting\' record finishes the delete at a restart');
}

/**
 * Create an endpoint: host ports reserved first (a taken one is a 409 with nothing changed), then its addresses,
 * allocated synchronously (G11). Throws ERR_NETWORK_NOT_FOUND, ERR_ENDPOINT_EXISTS, ERR_INVALID_OPTION,
 * ERR_NETWORK_NOT_ATTACHABLE, ERR_PORT_ALLOCATED / ERR_PORT_NO_FREE, ERR_IPAM_*.
 */
export async function createEndpoint(ctx: OpsContext, net: Network, name: string, options: EndpointOptions): Promise<Endpoint> {
  const { epName, aliases, links, publish, macAddress, ports, ip4, ip6 } = normalizeEndpointOptions(name, options);
  const named = (): [Endpoint | undefined] => [net.endpoint(epName)];
  for (let w = provisionalOf(named()); w; w = provisionalOf(named())) await w; // a refusal rests on answered operations (L5)
  if (!ctx.networks.has(net.id)) throw new errors.NetworkNotFoundError(net.name);
  if (net.endpoint(epName) !== undefined) throw new errors.EndpointExistsError(epName, net.name);
  if (ip6 !== undefined && net.pool6 === undefined) throw new InvalidOptionError('ip6', `network ${net.name} has no IPv6 subnet`);
  if (ctx.drivers.get(net.driver).dataScope === 'global' && net.driverOptions.attachable !== true) throw new NotAttachableError(net.name);
  const id = newId();
  // Host ports first: a taken one is a 409 with nothing changed; then re-check what the wait may have changed.
  const portMappings = publish.length === 0 ? [] : await reservePorts(ctx.drivers, net, id, publish, (holder) => endpointLabel(ctx, holder));
  let addresses: { ipv4: string; ipv6: string | undefined };
  try {
    for (let w = provisionalOf(named()); w; w = provisionalOf(named())) await w;
    if (!ctx.networks.has(net.id)) throw new errors.NetworkNotFoundError(net.name);
    if (net.endpoint(epName) !== undefined) throw new errors.EndpointExistsError(epName, net.name);
    if (macAddress !== undefined) checkMacFree(net, macAddress);
    addresses = net.scope === 'global' ? await globalAddresses(ctx, net, epName, id, ip4, ip6) : allocateLocal(net, ip4, ip6);
  } catch (err) {
    if (portMappings.length > 0) await ctx.drivers.get(net.driver).releasePorts?.(id);
    throw err;
  }
  const ep = new Endpoint(ctx.core, {
    id, name: epName, network: net, aliases, ...addresses, ports, links, portMappings, macAddress,
    disableResolution: options.disableResolution ?? false, joinedOnly: options.joinedOnly === true, provisional: options.provisional,
  });
  net.endpoints.set(ep.id, ep);
  // Coalesced: a join writes ahead before its plumbing, and the API answers only once everything is on disk (L6).
  for (const k of endpointKeys(ep)) ctx.journal.changed(k);
  return ep;
}

/** `endpoint web on network appnet (sandbox web)`, for the endpoint with id `id`; undefined when there is none. */
function endpointLabel(ctx: OpsContext, id: string): string | undefined {
  for (const n of ctx.networks.values()) {
    const e = n.endpoints.get(id);
    if (e !== undefined) return `endpoint ${e.name} on network ${n.name}${e.sandbox === undefined ? '' : ` (sandbox ${e.sandbox.id})`}`;
  }
  return undefined;
}

/** Throws ERR_ENDPOINT_MAC_IN_USE when `mac` (lower case) is asked for, or was given by the kernel, to another endpoint of `net`. */
function checkMacFree(net: Network, mac: string): void {
  for (const e of net.endpoints.values()) {
    if (e.macAddress === mac || e.joinInfo?.mac?.toLowerCase() === mac) throw new errors.MacAddressInUseError(mac, e.name, net.name);
  }
}

/**
 * A global network's endpoint addresses: claimed in the cluster store, with the network's driver objects made on this
 * host. That takes round trips, during which the network may be deleted (its delete saw no endpoint yet): then the
 * claim and the driver objects go again and the create answers ERR_NETWORK_NOT_FOUND, as if it had come after the
 * delete (L5), never an endpoint on a network that is gone.
 */
async function globalAddresses(ctx: OpsContext, net: Network, epName: string, id: string, ip4: string | undefined, ip6: string | undefined): Promise<{ ipv4: string; ipv6: string | undefined }> {
  const cluster = globalBinding(ctx, 'a global network');
  let got: { ipv4: string; ipv6: string | undefined };
  try {
    got = await cluster.endpointAddresses(net, epName, id, ip4, ip6);
  } catch (err) {
    // Its network deleted meanwhile: devices another create made for it (while this one was pending) go too.
    if (!ctx.networks.has(net.id)) await cluster.dropDriverIfUnused(net).catch(() => undefined);
    throw err;
  }
  // A network delete in progress takes the network out of the model first and may yet be refused (it puts it back):
  // decide once it has answered (L5).
  await ctx.allocation.run(() => Promise.resolve());
  if (ctx.networks.has(net.id)) return got;
  net.pool4.release(got.ipv4);
  if (got.ipv6 !== undefined) net.pool6?.release(got.ipv6);
  await cluster.releaseAddresses(net, got).catch((err: unknown) => ctx.logger.warn({ err, network: net.name }, 'releasing the addresses of a create that lost its network failed'));
  await cluster.dropDriverIfUnused(net);
  throw new errors.NetworkNotFoundError(net.name);
}

/** Delete an endpoint, releasing its ports and addresses, once a join or leave in progress ended; a second delete is a no-op. Throws ERR_ENDPOINT_ACTIVE while joined. */
export async function deleteEndpoint(ctx: OpsContext, ep: Endpoint): Promise<void> {
  if (ep.joining !== undefined) await ep.joining.catch(() => undefined);
  // A leave in progress has detached it early; its address and ports are free only once its veth and files are gone.
  while (ep.leaving !== undefined) await ep.leaving;
  if (ep.sandbox !== undefined) throw new errors.EndpointActiveError(ep.name, ep.sandbox.id);
  if (!ep.network.endpoints.delete(ep.id)) return;
  if (ep.portMappings.length > 0) await ctx.drivers.get(ep.network.driver).releasePorts?.(ep.id);
  ep.network.pool4.release(ep.ipv4);
  if (ep.ipv6 !== undefined) ep.network.pool6?.release(ep.ipv6);
  if (ep.network.scope === 'global' && ctx.cluster !== undefined) {
    await ctx.cluster.release(ep);
    await ctx.cluster.dropDriverIfUnused(ep.network);
  }
  for (const k of endpointKeys(ep)) ctx.journal.changed(k); // coalesced: the API answers only once it is on disk (L6)
}

/** The network newNetwork would make (plan.ts), with this controller's networks, pool and the cluster's subnets. */
async function plan(ctx: OpsContext, driverName: string, name: string, options: NetworkOptions, driverOptions: Readonly<Record<string, unknown>>, scope: 'local' | 'global', driver?: Driver): Promise<Network> {
  const clusterSubnets = scope === 'global' ? (ctx.cluster?.store.networks().map((n) => n.subnet) ?? []) : [];
  return planNetwork({ core: ctx.core, pool: ctx.pool, networks: allNetworks(ctx), clusterSubnets, id: newId() }, { driverName, name, options, driverOptions, scope, driver });
}
