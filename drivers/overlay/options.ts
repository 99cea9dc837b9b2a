/**
 * Overlay driver options (G9): parsed and validated once, trusted inside.
 * Keys: `mtu` (Docker's `com.docker.network.driver.mtu`), `vni` (Docker's
 * `com.docker.network.driver.overlay.vxlanid_list`, one id) and `attachable`;
 * values may be strings, as `-o key=value` gives them.
 */
import { InvalidOptionError } from '../../common/errors.js';

/** Normalised overlay options. */
export interface OverlayOptions {
  /** MTU asked for the bridge, VXLAN device and veths; capped at the underlay's MTU − 50 on each host. */
  readonly mtu?: number;
  /** The VXLAN network identifier (RFC 7348 §5, 24 bits): asked, or allocated in the cluster at create. */
  readonly vni?: number;
  /** Sandboxes may be connected to it by hand (Docker's `--attachable`); without it, connects are refused. */
  readonly attachable?: boolean;
}

/** The VNIs sandns allocates from: 4096 up, as libnetwork's overlay (lower ids are left to VLAN-mapped setups). */
export const VNI_FIRST = 4096;
/** The largest VNI (24 bits). */
export const VNI_LAST = 0xffffff;

const KEYS: Readonly<Record<string, keyof OverlayOptions>> = {
  mtu: 'mtu',
  'com.docker.network.driver.mtu': 'mtu',
  vni: 'vni',
  'com.docker.network.driver.overlay.vxlanid_list': 'vni',
  attachable: 'attachable',
};

function integer(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

function checkValue(target: keyof OverlayOptions, v: unknown, key: string): number | boolean {
  if (target === 'attachable') {
    if (v === true || v === 'true' || v === '1') return true;
    if (v === false || v === 'false' || v === '0') return false;
    throw new InvalidOptionError(key, 'must be true or false');
  }
  const n = integer(v);
  if (target === 'mtu') {
    if (n === undefined || n < 1280 || n > 65535) throw new InvalidOptionError(key, 'must be an integer between 1280 and 65535');
    return n;
  }
  if (n === undefined || n < 1 || n > VNI_LAST) throw new InvalidOptionError(key, `must be one VXLAN id between 1 and ${VNI_LAST}`);
  return n;
}

/** Validate raw overlay options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeOverlayOptions(raw: Readonly<Record<string, unknown>>): OverlayOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const target = KEYS[key];
    if (target === undefined) throw new InvalidOptionError(key, `unknown overlay option (known: ${Object.keys(KEYS).join(', ')})`);
    const v = checkValue(target, value, key);
    if (out[target] !== undefined && out[target] !== v) throw new InvalidOptionError(key, `contradicts another key that sets ${target}`);
    out[target] = v;
  }
  return out as OverlayOptions;
}

/** The Linux bridge of an overlay network on each host (≤ 15 chars). */
export function overlayBridgeName(networkId: string): string {
  return `ov-${networkId.slice(0, 12)}`;
}

/** Its VXLAN device (≤ 15 chars). */
export function vxlanName(networkId: string): string {
  return `vx-${networkId.slice(0, 12)}`;
}
