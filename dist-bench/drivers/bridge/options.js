/**
 * Bridge driver options (G9): parsed and validated once, trusted inside.
 */
import { InvalidOptionError } from '../../common/errors.js';
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** Validate raw bridge options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeBridgeOptions(raw) {
    const out = {};
    for (const key of Object.keys(raw)) {
        if (key !== 'bridgeName' && key !== 'mtu') {
            throw new InvalidOptionError(key, 'unknown bridge option (known: bridgeName, mtu)');
        }
    }
    if (raw.bridgeName !== undefined) {
        if (typeof raw.bridgeName !== 'string' || !IFNAME.test(raw.bridgeName) || raw.bridgeName === '.' || raw.bridgeName === '..') {
            throw new InvalidOptionError('bridgeName', 'must be 1-15 characters of letters, digits, "_", "-" or "."');
        }
        out.bridgeName = raw.bridgeName;
    }
    if (raw.mtu !== undefined) {
        if (typeof raw.mtu !== 'number' || !Number.isInteger(raw.mtu) || raw.mtu < 68 || raw.mtu > 65535) {
            throw new InvalidOptionError('mtu', 'must be an integer between 68 and 65535');
        }
        out.mtu = raw.mtu;
    }
    return out;
}
/** The bridge name of a network. */
export function bridgeNameFor(networkId, options) {
    return options.bridgeName ?? `sd-${networkId.slice(0, 12)}`;
}
/** The host-side veth name of an endpoint (≤ 15 chars). */
export function hostVethName(endpointId) {
    return `sv${endpointId.slice(0, 12)}`;
}
/** The temporary sandbox-side veth name before it is renamed eth<N> (≤ 15 chars). */
export function peerVethName(endpointId) {
    return `sp${endpointId.slice(0, 12)}`;
}
//# sourceMappingURL=options.js.map