/**
 * The external driver (links sandns does not manage) and the pinning rule of
 * ephemeral namespace paths: the pure parts.
 */
import { describe, expect, it } from 'vitest';
import { DriverRegistry, ExternalDriver } from '../../../drivers/index.js';
import { isEphemeralNetnsPath, pinnedNetnsPath } from '../../../sandbox/index.js';

describe('external driver', () => {
  it('K4 is registered by default beside bridge, takes no options, and manages no network objects', async () => {
    expect(new DriverRegistry().get('external')).toBeInstanceOf(ExternalDriver);
    const d = new ExternalDriver();
    expect(d.validateOptions({})).toEqual({});
    expect(() => d.validateOptions({ mtu: 1500 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    const net = { id: 'x', name: 'n', subnet: '10.0.0.0/24', gateway: '10.0.0.1', internal: false, options: {} };
    expect(await d.networkExists()).toBe(true);
    const info = { hostIfname: '', ifname: 'eth0', mac: '' };
    expect(await d.endpointsPresent(net, [info, info])).toEqual([true, true]);
    expect(await d.reconcileEndpoints()).toEqual({ removed: [], reattached: [] });
  });
});

describe('ephemeral namespace paths', () => {
  it.each([
    ['/proc/123/ns/net', true],
    ['/proc/123/task/456/ns/net', true],
    ['/proc/self/ns/net', false],
    ['/proc/123/ns/mnt', false],
    ['/run/netns/x', false],
    ['/proc/123/ns/net/../../1/ns/net', false],
  ])('K10 %s is ephemeral: %s', (p, want) => {
    expect(isEphemeralNetnsPath(p)).toBe(want);
  });

  it('K10 pins live under /run/netns with a name of their own', () => {
    expect(pinnedNetnsPath('abc')).toBe('/run/netns/sandns-pin-abc');
  });
});
