/**
 * Drivers public door: the Driver contract, the registry and the bridge driver.
 */
import { SandnsError } from '../common/errors.js';
import { BridgeDriver } from './bridge/index.js';
export { BridgeDriver, bridgePlan, bridgeNameFor, hostVethName, normalizeBridgeOptions } from './bridge/index.js';
export * from './ipam/index.js';
/** No driver of that name is registered (L1: unknown driver, 404). */
export class UnknownDriverError extends SandnsError {
    constructor(name, known) {
        super('ERR_DRIVER_NOT_FOUND', `unknown network driver "${name}" (known: ${known.join(', ')})`, 404, {
            details: { driver: name },
        });
        this.name = 'UnknownDriverError';
    }
}
/** Codes defined here. */
export const DRIVER_ERROR_CODES = ['ERR_DRIVER_NOT_FOUND'];
/** Name → driver. */
export class DriverRegistry {
    #drivers = new Map();
    constructor(drivers = [new BridgeDriver()]) {
        for (const d of drivers)
            this.#drivers.set(d.name, d);
    }
    /** The driver called `name`; throws ERR_DRIVER_NOT_FOUND. */
    get(name) {
        const d = this.#drivers.get(name);
        if (d === undefined)
            throw new UnknownDriverError(name, [...this.#drivers.keys()]);
        return d;
    }
}
//# sourceMappingURL=index.js.map