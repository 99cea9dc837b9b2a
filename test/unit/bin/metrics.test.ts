import { describe, expect, it } from 'vitest';
import { ApiMetrics, renderInterfaceMetrics, routeLabel, singleFlight } from '../../../bin/daemon/metrics.js';
import { allSandboxStats, sandboxStats } from '../../../controller/ports.js';
import type { Controller, Sandbox } from '../../../controller/index.js';
import type { DriverRegistry } from '../../../drivers/index.js';
import { normalizeDaemonOptions } from '../../../bin/daemon/daemon.js';

describe('daemon metrics and options', () => {
  it('R16 route labels are the matched route pattern, `other` for anything unmatched', () => {
    expect(routeLabel('GET', '/networks')).toBe('/networks');
    expect(routeLabel('GET', '/networks/n1')).toBe('/networks/:name');
    expect(routeLabel('POST', '/networks/n1/connect')).toBe('/networks/:name/connect');
    expect(routeLabel('POST', '/sandboxes/web/resolve')).toBe('/sandboxes/:name/resolve');
    expect(routeLabel('GET', '/metrics')).toBe('/metrics');
    expect(routeLabel('GET', '/etc/passwd')).toBe('other');
    expect(routeLabel('GET', '/networks/n1/connect')).toBe('other');
    expect(routeLabel('GET', '/sandboxes/x/nope/deeper')).toBe('other');
  });

  it('M2 20,000 unique paths (404s and object names) make a bounded number of series', () => {
    const m = new ApiMetrics();
    for (let i = 0; i < 5_000; i++) {
      m.observe('GET', `/networks/n${i}`, 404);
      m.observe('GET', `/networks/n${i}/x${i}`, 404);
      m.observe('DELETE', `/sandboxes/s${i}/key/${i}`, 404);
      m.observe('GET', `/junk${i}`, 404);
    }
    m.observe('PROPFIND', '/networks', 405);
    const series = m.render().split('\n').filter((l) => l.startsWith('sandns_api_requests_total{'));
    expect(series).toEqual([
      'sandns_api_requests_total{method="GET",route="/networks/:name",status="404"} 5000',
      'sandns_api_requests_total{method="GET",route="other",status="404"} 10000',
      'sandns_api_requests_total{method="DELETE",route="other",status="404"} 5000',
      'sandns_api_requests_total{method="other",route="other",status="405"} 1',
    ]);
  });

  it('R16 API requests are counted by method, route and status in Prometheus text', () => {
    const m = new ApiMetrics();
    m.observe('GET', '/networks/a', 200);
    m.observe('GET', '/networks/b', 200);
    m.observe('POST', '/networks', 409);
    expect(m.render()).toBe(
      '# HELP sandns_api_requests_total API requests by method, route and HTTP status.\n' +
        '# TYPE sandns_api_requests_total counter\n' +
        'sandns_api_requests_total{method="GET",route="/networks/:name",status="200"} 2\n' +
        'sandns_api_requests_total{method="POST",route="/networks",status="409"} 1\n',
    );
  });

  it('L1 daemon options: paths made absolute, log level checked', () => {
    const o = normalizeDaemonOptions({ socketPath: 'x.sock', stateDir: '/var/lib/sandns', originResolvConf: '/etc/resolv.conf', logLevel: 'debug' });
    expect(o.socketPath).toBe(`${process.cwd()}/x.sock`);
    expect(o.portRange).toEqual({ first: 49153, last: 65535 });
    expect(o.firewall).toBe(true);
    const raw = { socketPath: 'x.sock', stateDir: '/s', originResolvConf: '/r', logLevel: 'info' };
    expect(() => normalizeDaemonOptions({ ...raw, logLevel: 'loud' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => normalizeDaemonOptions({ ...raw, stateDir: '' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(o.runDir).toBe('/run/sandns');
    expect(normalizeDaemonOptions({ ...raw, runDir: 'run' }).runDir).toBe(`${process.cwd()}/run`);
    expect(() => normalizeDaemonOptions({ ...raw, runDir: '' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', details: expect.objectContaining({ field: 'run-dir' }) }));
  });

  it('network stack: --port-range is FIRST-LAST inside 1-65535', () => {
    const raw = { socketPath: 'x.sock', stateDir: '/s', originResolvConf: '/r', logLevel: 'info' };
    expect(normalizeDaemonOptions({ ...raw, portRange: '20000-20010', firewall: false })).toMatchObject({ portRange: { first: 20000, last: 20010 }, firewall: false });
    for (const bad of ['20010-20000', '0-10', '1-70000', '80', 'a-b']) {
      expect(() => normalizeDaemonOptions({ ...raw, portRange: bad })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    }
  });
});

describe('M5 a scrape reads the interface counters once', () => {
  const COUNTERS = { rxBytes: 1, rxPackets: 2, rxErrors: 0, rxDropped: 0, txBytes: 3, txPackets: 4, txErrors: 0, txDropped: 0 };

  /** N sandboxes with one joined bridge endpoint each, over a fake driver that counts its interfaceStats calls (one host link dump each). */
  function world(n: number) {
    const dumps = { count: 0 };
    const drivers = {
      get: () => ({
        interfaceStats: async (infos: readonly unknown[]) => {
          dumps.count++;
          return infos.map(() => COUNTERS);
        },
      }),
    } as unknown as DriverRegistry;
    const sandboxes = Array.from({ length: n }, (_, i) => ({
      id: `s${i}`,
      endpoints: new Map([[`e${i}`, { joinInfo: { ifname: 'eth0', hostIfname: `sv${i}` }, network: { driver: 'bridge', name: 'n1' } }]]),
    })) as unknown as Sandbox[];
    const controller = {
      sandboxes: () => sandboxes,
      networks: () => [],
      stats: (sb: Sandbox) => sandboxStats(drivers, sb),
      allStats: async () => new Map([...(await allSandboxStats(drivers, sandboxes))].map(([sb, s]) => [sb.id, s])),
    };
    return { dumps, controller };
  }

  it('M5 200 sandboxes: one interfaceStats call (one link dump), and a row per interface', async () => {
    const { dumps, controller } = world(200);
    const text = await renderInterfaceMetrics(controller as unknown as Controller);
    expect(dumps.count).toBe(1);
    expect(text.split('\n').filter((l) => l.startsWith('sandns_interface_receive_bytes_total{'))).toHaveLength(200);
    expect(text).toContain('sandns_interface_receive_bytes_total{sandbox="s7",network="n1",interface="eth0"} 1\n');
  });

  it('M5 a driver whose counters cannot be read costs only its own rows; the single-sandbox route still gets the error', async () => {
    const drivers = {
      get: (name: string) => ({
        interfaceStats: async (infos: readonly unknown[]) => {
          if (name === 'overlay') throw new Error('dump failed');
          return infos.map(() => COUNTERS);
        },
      }),
    } as unknown as DriverRegistry;
    const sandboxes = ['bridge', 'overlay'].map((driver, i) => ({
      id: `s${i}`,
      endpoints: new Map([[`e${i}`, { joinInfo: { ifname: 'eth0', hostIfname: `sv${i}` }, network: { driver, name: `n-${driver}` } }]]),
    })) as unknown as Sandbox[];
    const failed: string[] = [];
    const all = await allSandboxStats(drivers, sandboxes, (driver) => failed.push(driver));
    expect([...all.values()].map((rows) => rows.length)).toEqual([1, 0]);
    expect(failed).toEqual(['overlay']);
    await expect(sandboxStats(drivers, sandboxes[1]!)).rejects.toThrow('dump failed');
  });

  it('M5 concurrent scrapes share the one in flight; the next one runs again', async () => {
    let runs = 0;
    let release!: () => void;
    const scrape = singleFlight(async () => {
      runs++;
      await new Promise<void>((r) => (release = r));
      return `text ${runs}`;
    });
    const all = Array.from({ length: 10 }, () => scrape());
    release();
    expect(await Promise.all(all)).toEqual(Array(10).fill('text 1'));
    const next = scrape();
    release();
    expect([await next, runs]).toEqual(['text 2', 2]);
  });

  it('M5 a failed scrape is not kept: the next call runs again', async () => {
    let runs = 0;
    const scrape = singleFlight(async () => {
      runs++;
      if (runs === 1) throw new Error('dump failed');
      return 'ok';
    });
    await expect(scrape()).rejects.toThrow('dump failed');
    expect(await scrape()).toBe('ok');
  });
});
