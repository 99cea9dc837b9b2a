/**
 * Drivers public door: the Driver contract, the registry and the bridge driver.
 */
import { SandnsError } from '../common/errors.js';
import type { Driver } from './driver.js';
import { BridgeDriver } from './bridge/index.js';
import { ExternalDriver } from './external/index.js';
import { OverlayDriver } from './overlay/index.js';

export type { Driver, DriverJoin, DriverJoinInfo, DriverNetwork, DriverPeer, DriverRestoredEndpoint } from './driver.js';
export { ExternalDriver } from './external/index.js';
export { BridgeDriver, bridgePlan, normalizeBridgeOptions } from './bridge/index.js';
export { OverlayDriver, allocateVni, NotAttachableError, OVERLAY_ERROR_CODES, type OverlayDriverOptions, type UsedVni } from './overlay/index.js';
export type { BridgeDriverOptions, LinkOp, LinkCounters } from './bridge/index.js';
export * from './firewall/index.js';
export * from './ipam/index.js';
export { HostIpv6DisabledError, LinkExistsError, NetworkFullError } from './errors.js';

/** No driver of that name is registered (L1: unknown driver, 404). */
export class UnknownDriverError extends SandnsError {
  constructor(name: string, known: readonly string[]) {
    super('ERR_DRIVER_NOT_FOUND', `unknown network driver "${name}" (known: ${known.join(', ')})`, 404, {
      details: { driver: name },
    });
    this.name = 'UnknownDriverError';
  }
}

/** Name → driver. */
export class DriverRegistry {
  readonly #drivers = new Map<string, Driver>();

  constructor(drivers: readonly Driver[] = [new BridgeDriver(), new ExternalDriver(), new OverlayDriver()]) {
    for (const d of drivers) this.#drivers.set(d.name, d);
  }

  /** Every registered driver. */
  all(): Driver[] {
    return [...this.#drivers.values()];
  }

  /** Let every driver go of what it holds (daemon shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#drivers.values()].map((d) => d.close?.()));
  }

  /** The driver called `name`; throws ERR_DRIVER_NOT_FOUND. */
  get(name: string): Driver {
    const d = this.#drivers.get(name);
    if (d === undefined) throw new UnknownDriverError(name, [...this.#drivers.keys()]);
    return d;
  }
}
