/**
 * How daemon answers become CNI codes (K11; CNI spec 1.0.0 "Error"): 7 only
 * for invalid values, 102 for a port, address or subnet not to be had, 103
 * for other refusals, 11 for 503, 100 for other 5xx.
 */
import { describe, expect, it } from 'vitest';
import { cniCodeOf, type ApiAnswer } from '../../../cni/daemon.js';
import { env, mainConf, out, run } from './harness.js';
import { FakeDaemon, FakeStore } from './fake-daemon.js';

describe('daemon answers as CNI codes', () => {
  it.each([
    [400, 'ERR_INVALID_OPTION', 7],
    [400, 'ERR_INVALID_NAME', 7],
    [400, 'ERR_IPAM_INVALID_SUBNET', 7],
    [400, 'ERR_IPAM_ADDRESS_OUT_OF_RANGE', 7],
    [409, 'ERR_PORT_ALLOCATED', 102],
    [409, 'ERR_PORT_NO_FREE', 102],
    [400, 'ERR_PORTS_UNAVAILABLE', 102],
    [409, 'ERR_IPAM_POOL_EXHAUSTED', 102],
    [409, 'ERR_IPAM_ADDRESS_IN_USE', 102],
    [409, 'ERR_NETWORK_SUBNET_OVERLAP', 102],
    [409, 'ERR_ENDPOINT_EXISTS', 103],
    [409, 'ERR_SANDBOX_IFNAME_IN_USE', 103],
    [409, 'ERR_LINK_EXISTS', 103],
    [404, 'ERR_API_NOT_FOUND', 103],
    [400, undefined, 103],
    [503, 'ERR_STORE_DEGRADED', 11],
    [507, 'ERR_STORE_WRITE_FAILED', 100],
    [500, undefined, 100],
  ])('K11 issue-review-4 HTTP %i %s is CNI code %i', (status, code, cni) => {
    expect(cniCodeOf(status, code)).toBe(cni);
  });

  it.each([
    ['a host port already held', 409, 'ERR_PORT_ALLOCATED', 102],
    ['no address left in the subnet', 409, 'ERR_IPAM_POOL_EXHAUSTED', 102],
    ['an address asked for (runtimeConfig.ips) in use', 409, 'ERR_IPAM_ADDRESS_IN_USE', 102],
    ['an interface name taken in the sandbox', 409, 'ERR_SANDBOX_IFNAME_IN_USE', 103],
  ])('K11 K12 issue-review-4 ADD refused for %s (HTTP %i %s) is code %i, not 7, with the API code in details', async (_what, status, code, cni) => {
    const d = new FakeDaemon();
    d.intercept = (m, p): ApiAnswer | undefined => (m === 'POST' && p.endsWith('/connect') ? { status, body: { code, message: code } } : undefined);
    const e = out(await run(d, new FakeStore(), env('ADD'), mainConf));
    expect(e).toMatchObject({ code: cni, details: expect.stringContaining(code) });
    expect(d.sbs.size).toBe(0); // the sandbox it made is gone again (K12)
  });
});
