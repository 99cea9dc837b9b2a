import { describe, expect, it } from 'vitest';
import { ApiMetrics, routeLabel } from '../../../bin/daemon/metrics.js';
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
  });

  it('network stack: --port-range is FIRST-LAST inside 1-65535', () => {
    const raw = { socketPath: 'x.sock', stateDir: '/s', originResolvConf: '/r', logLevel: 'info' };
    expect(normalizeDaemonOptions({ ...raw, portRange: '20000-20010', firewall: false })).toMatchObject({ portRange: { first: 20000, last: 20010 }, firewall: false });
    for (const bad of ['20010-20000', '0-10', '1-70000', '80', 'a-b']) {
      expect(() => normalizeDaemonOptions({ ...raw, portRange: bad })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    }
  });
});
