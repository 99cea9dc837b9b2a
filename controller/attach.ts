/**
 * The plumbing of join and leave (L1, L2, R15), kept apart from the
 * controller's bookkeeping: driver, record table, sandbox view, in that order
 * on join (each step with its inverse, G10); on leave the names go at once,
 * after the sandbox's own hosts lines for a refusable one (plumbLeave).
 */
import { withUndo } from '../common/undo.js';
import type { Logger } from '../common/log.js';
import type { DriverRegistry } from '../drivers/index.js';
import { netnsIpv6Enabled, type SandboxEndpoint } from '../sandbox/index.js';
import { SandboxIpv6DisabledError } from './errors.js';
import type { Endpoint } from './endpoint.js';
import type { Sandbox } from './sandbox.js';
import type { LinkState } from './core.js';

/** What the plumbing needs from the controller. */
export interface AttachDeps {
  readonly drivers: DriverRegistry;
  readonly logger: Logger;
}

/** The sandbox runtime's view of an endpoint. */
export function sandboxEndpoint(ep: Endpoint): SandboxEndpoint {
  return {
    endpointId: ep.id, network: ep.network.view, networkName: ep.network.name, internal: ep.network.internal,
    priority: ep.priority, ipv4: ep.ipv4, ipv6: ep.ipv6, resolution: !ep.disableResolution, linkAliases: ep.links,
    networkDns: ep.network.dns,
  };
}

/** Register an endpoint's names in its network's record table (spec Model). */
export function addRecords(ep: Endpoint, sb: Sandbox): void {
  ep.network.records.addEndpoint({
    endpointId: ep.id, names: ep.dnsNames(sb), ipv4: ep.ipv4, ...(ep.ipv6 ? { ipv6: ep.ipv6 } : {}), ports: ep.ports,
  });
}

/**
 * Join: veth into the sandbox, names into the table, network into the sandbox's view. Unwinds on failure, the
 * claim last (`release`: the endpoint leaves `sb`, or, for a claim that was waiting for a key, is only claimed again).
 */
export async function plumbJoin(deps: AttachDeps, ep: Endpoint, sb: Sandbox, ifname: string, wantsGateway: boolean, release: () => void): Promise<void> {
  try {
    await withUndo(async (undo) => {
      undo.push('release claim', () => {
        release();
        sb.ifnames.delete(ifname);
      });
      const driver = deps.drivers.get(ep.network.driver);
      // The kernel refuses IPv6 addresses where IPv6 is disabled (EACCES): refused here, before anything is made.
      if (ep.ipv6 !== undefined && !(await netnsIpv6Enabled(sb.netnsPath))) throw new SandboxIpv6DisabledError(sb.id, ep.network.name);
      const info = await driver.join({
        network: ep.network.driverNetwork, endpointId: ep.id, ipv4: ep.ipv4, ipv6: ep.ipv6,
        netnsPath: sb.netnsPath, ifname, defaultRoute: wantsGateway, mac: ep.macAddress, portMappings: ep.portMappings,
      });
      ep.attach({ ...ep.attachment!, link: info });
      undo.push('driver leave', () => driver.leave(ep.network.driverNetwork, info, sb.netnsPath));
      addRecords(ep, sb);
      undo.push('records', () => ep.network.records.removeEndpoint(ep.id));
      await sb.attachDns(sandboxEndpoint(ep));
    }, deps.logger);
  } catch (err) {
    if (ep.attachment !== undefined) ep.attach({ ...ep.attachment, link: undefined });
    throw err;
  }
}

/** How plumbLeave goes (see there). */
export interface LeaveOptions {
  readonly refusable?: boolean;
  readonly before?: () => Promise<void>;
  readonly undoBefore?: () => Promise<void>;
  /**
   * The endpoint stays claimed by `sb` (a late key released, or a deferred join undone): where it would leave the
   * sandbox it becomes a claim without a link instead, in the same synchronous step, so no state write ever sees it
   * unclaimed (restore deletes an unclaimed endpoint that a connect made, L6).
   */
  readonly keepClaim?: boolean;
}

/** `ep` claimed by `sb` without a link: it joins with the sandbox's next key (the interface name asked for kept). */
export function claimOnly(ep: Endpoint, sb: Sandbox, priority: number, ifname: string | undefined): void {
  ep.attach({ sandbox: sb, priority, gateway: false, link: undefined, ...(ifname === undefined ? {} : { ifname }) });
  sb.endpoints.set(ep.id, ep);
}

/**
 * Leave. `before` (the cluster's unpublish of a global network's endpoint) runs first; when it throws nothing has
 * changed. `refusable` (a disconnect asked for through the API): then the sandbox's own hosts lines go (H3), and a
 * refused edit (no descriptor left, a full disk) refuses the leave with nothing changed (G10): `undoBefore` publishes
 * again. Otherwise (undo, cleanup, restore: the endpoint must go whatever fails) the names leave the view at once
 * (R15). Then, in one synchronous step, the names vanish from the network's records and the endpoint leaves the
 * sandbox (or is only claimed by it: `keepClaim`); from there every step runs even when one before it failed (a refused file edit must not leave the veth
 * behind), and the first failure is thrown once all ran.
 */
export async function plumbLeave(deps: AttachDeps, ep: Endpoint, sb: Sandbox, options: LeaveOptions = {}): Promise<void> {
  const failures: unknown[] = [];
  await options.before?.();
  let detached: Promise<{ refreshed: Promise<void> }>;
  if (options.refusable === true) {
    try {
      detached = Promise.resolve(await sb.detachDns(ep.id));
    } catch (err) {
      await options.undoBefore?.().catch((e: unknown) => deps.logger.warn({ err: e, endpoint: ep.name }, 'publishing a refused leave\'s endpoint again failed'));
      throw err;
    }
  } else {
    detached = sb.detachDns(ep.id, true);
  }
  ep.network.records.removeEndpoint(ep.id);
  const info = ep.joinInfo;
  const wasGateway = ep.gateway;
  if (options.keepClaim === true) claimOnly(ep, sb, ep.priority, ep.attachment?.ifname);
  else {
    ep.attach(undefined);
    sb.endpoints.delete(ep.id);
  }
  await detached.then((d) => d.refreshed).catch((err: unknown) => failures.push(err));
  if (info !== undefined) {
    await deps.drivers.get(ep.network.driver).leave(ep.network.driverNetwork, info, sb.netnsPath).then(
      () => sb.ifnames.delete(info.ifname),
      (err: unknown) => failures.push(err),
    );
  }
  if (wasGateway) await moveGateway(deps, sb).catch((err: unknown) => failures.push(err));
  if (failures.length > 0) throw failures[0];
}

/** Give the default route to the first remaining non-internal endpoint (L2); nothing when none is joined. */
export async function moveGateway(deps: AttachDeps, sb: Sandbox): Promise<void> {
  const next = sb.endpointOrder.map((id) => sb.endpoints.get(id)!).find((e) => !e.network.internal && e.joinInfo);
  if (next === undefined || next.joinInfo === undefined || next.attachment === undefined) return;
  next.attach({ ...next.attachment, gateway: true });
  await deps.drivers.get(next.network.driver).setDefaultRoute(next.network.driverNetwork, next.joinInfo, sb.netnsPath);
}

/** Each joined endpoint's link problems, asked of its driver (CNI CHECK). */
export async function linkProblems(deps: AttachDeps, sb: Sandbox): Promise<LinkState[]> {
  const out: LinkState[] = [];
  for (const ep of sb.endpoints.values()) {
    if (ep.joinInfo === undefined) continue;
    const addresses = [ep.ipv4, ...(ep.ipv6 === undefined ? [] : [ep.ipv6])];
    const problems = await deps.drivers.get(ep.network.driver).linkProblems(ep.network.driverNetwork, ep.joinInfo, sb.netnsPath, addresses);
    out.push({ network: ep.network.name, ifname: ep.joinInfo.ifname, problems });
  }
  return out;
}
