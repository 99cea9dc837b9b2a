/**
 * Bridge driver options (G9): parsed and validated once, trusted inside.
 * Keys: `mtu` and `bridge_name` (`bridgeName` too), with Docker's
 * `com.docker.network.driver.mtu` and `com.docker.network.bridge.name`
 * accepted as synonyms; values may be strings, as `-o key=value` gives them.
 */
import { InvalidOptionError } from '../../common/errors.js';

/** Normalised bridge options. */
export interface BridgeOptions {
  /** Linux bridge name (≤ 15 chars); default `sd-<first 12 of id>`. */
  readonly bridgeName?: string;
  /** MTU of the bridge and the veths; default: kernel default (1500). */
  readonly mtu?: number;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Every accepted key → the option it sets. */
const KEYS: Readonly<Record<string, 'bridgeName' | 'mtu'>> = {
  bridgeName: 'bridgeName',
  bridge_name: 'bridgeName',
  'com.docker.network.bridge.name': 'bridgeName',
  mtu: 'mtu',
  'com.docker.network.driver.mtu': 'mtu',
};

function checkName(v: unknown, key: string): string {
  if (typeof v !== 'string' || !IFNAME.test(v) || v === '.' || v === '..') {
    throw new InvalidOptionError(key, 'must be 1-15 characters of letters, digits, "_", "-" or "."');
  }
  return v;
}

function checkMtu(v: unknown, key: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 68 || n > 65535) {
    throw new InvalidOptionError(key, 'must be an integer between 68 and 65535');
  }
  return n;
}

/** Validate raw bridge options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeBridgeOptions(raw: Readonly<Record<string, unknown>>): BridgeOptions {
  const out: { bridgeName?: string; mtu?: number } = {};
  for (const [key, value] of Object.entries(raw)) {
    const target = KEYS[key];
    if (target === undefined) throw new InvalidOptionError(key, `unknown bridge option (known: ${Object.keys(KEYS).join(', ')})`);
    const v = target === 'mtu' ? checkMtu(value, key) : checkName(value, key);
    if (out[target] !== undefined && out[target] !== v) throw new InvalidOptionError(key, `contradicts another key that sets ${target}`);
    (out as Record<string, unknown>)[target] = v;
  }
  return out;
}

/** The bridge name of a network. */
export function bridgeNameFor(networkId: string, options: BridgeOptions): string {
  return options.bridgeName ?? `sd-${networkId.slice(0, 12)}`;
}

/** The host-side veth name of an endpoint (≤ 15 chars). */
export function hostVethName(endpointId: string): string {
  return `sv${endpointId.slice(0, 12)}`;
}

/** The temporary sandbox-side veth name before it is renamed eth<N> (≤ 15 chars). */
export function peerVethName(endpointId: string): string {
  return `sp${endpointId.slice(0, 12)}`;
}
