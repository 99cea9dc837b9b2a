import { describe, expect, it } from 'vitest';
import { cli, type Call } from './fake-cli.js';
import { socketPathFrom, DEFAULT_SOCKET } from '../../../bin/cli/client.js';
import { ApiCallError, DaemonUnreachableError, EXIT } from '../../../bin/cli/errors.js';

const NET = {
  id: 'a'.repeat(64), name: 'n1', driver: 'bridge', subnet: '10.9.0.0/24', gateway: '10.9.0.1', internal: false, scope: 'local', ttl: 600,
  endpoints: [{ id: 'e1', name: 'web', ipv4: '10.9.0.2', sandbox: 'web' }],
};

describe('CLI verbs → API requests', () => {
  it('L1 network create maps every option to the API body and prints the id', async () => {
    const r = await cli(
      ['network', 'create', 'n1', '--subnet', '10.9.0.0/24', '--gateway', '10.9.0.254', '--ipv6', '--subnet6', 'fd00::/64', '--internal', '--ttl', '30'],
      () => NET,
    );
    expect(r.calls).toEqual([{ socket: DEFAULT_SOCKET, method: 'POST', path: '/networks', body: {
      name: 'n1', subnet: '10.9.0.0/24', gateway: '10.9.0.254', subnet6: 'fd00::/64', internal: true, ttl: 30,
    } }]);
    expect([r.code, r.stdout]).toEqual([0, `${'a'.repeat(64)}\n`]);
  });

  it('L1 network create --dns is sent and the daemon\'s warning is shown on stderr', async () => {
    const r = await cli(['network', 'create', 'n1', '--dns', '10.0.0.53', '--dns', '10.0.0.54'], () => ({ ...NET, warnings: ['dns ignored'] }));
    expect(r.calls[0]!.body).toEqual({ name: 'n1', dns: ['10.0.0.53', '10.0.0.54'] });
    expect(r.stderr).toBe('Warning: dns ignored\n');
  });

  it('L1 sandbox create maps repeatable options, --add-host NAME:IP (IPv6 keeps its colons) and --netns', async () => {
    const r = await cli([
      'sandbox', 'create', 'web', '--netns', '/proc/1/ns/net', '--hostname', 'h', '--domainname', 'd.test', '--dns', '10.0.0.2',
      '--dns-search', 'a.test', '--dns-search', 'b.test', '--dns-option', 'ndots:2', '--add-host', 'db:10.1.1.1', '--add-host', 'v6:fd00::1',
      '--hosts-path', '/tmp/h', '--resolv-conf-path', '/tmp/r',
    ], () => ({ id: 'web' }));
    expect(r.calls[0]!.body).toEqual({
      name: 'web', netnsPath: '/proc/1/ns/net', hostname: 'h', domainname: 'd.test', dns: ['10.0.0.2'], dnsSearch: ['a.test', 'b.test'],
      dnsOptions: ['ndots:2'], extraHosts: [{ name: 'db', ip: '10.1.1.1' }, { name: 'v6', ip: 'fd00::1' }], hostsPath: '/tmp/h', resolvConfPath: '/tmp/r',
    });
    expect(r.stdout).toBe('web\n');
  });

  it('L1 connect, disconnect, records, resolve, rm and inspect hit their routes', async () => {
    const r1 = await cli(['connect', 'n.1', 'web', '--alias', 'www', '--alias', 'w2', '--ip', '10.9.0.9'], () => ({ network: 'n.1', sandbox: 'web', aliases: ['www', 'w2'], ipv4: '10.9.0.9', ifname: 'eth0' }));
    expect(r1.calls[0]).toMatchObject({ method: 'POST', path: '/networks/n.1/connect', body: { sandbox: 'web', aliases: ['www', 'w2'], ip: '10.9.0.9' } });
    expect(r1.stdout).toBe('web connected to n.1 (10.9.0.9 on eth0, aliases www,w2)\n');
    const rest: [string[], Omit<Call, 'socket'>][] = [
      [['disconnect', 'n1', 'web'], { method: 'POST', path: '/networks/n1/disconnect', body: { sandbox: 'web' } }],
      [['records', '--network', 'n1'], { method: 'GET', path: '/records?network=n1' }],
      [['resolve', 'web', 'db', '--type', 'aaaa', '--tcp'], { method: 'POST', path: '/sandboxes/web/resolve', body: { name: 'db', type: 'aaaa', tcp: true } }],
      [['network', 'rm', 'n1'], { method: 'DELETE', path: '/networks/n1' }],
      [['sandbox', 'rm', 'web'], { method: 'DELETE', path: '/sandboxes/web' }],
      [['network', 'inspect', 'n1'], { method: 'GET', path: '/networks/n1' }],
      [['sandbox', 'inspect', 'web'], { method: 'GET', path: '/sandboxes/web' }],
      [['sandbox', 'ls'], { method: 'GET', path: '/sandboxes' }],
      [['metrics'], { method: 'GET', path: '/metrics' }],
    ];
    for (const [argv, want] of rest) {
      const r = await cli(['--json', ...argv]);
      expect(r.calls).toEqual([{ socket: DEFAULT_SOCKET, ...want }]);
    }
    // status: the daemon's health, then the cluster store's state (docs/cluster.md).
    expect((await cli(['--json', 'status'])).calls).toEqual([
      { socket: DEFAULT_SOCKET, method: 'GET', path: '/healthz' }, { socket: DEFAULT_SOCKET, method: 'GET', path: '/cluster' },
    ]);
  });

  it('L1 the socket comes from --socket, else $SANDNS_SOCKET, else the default; --socket works after the verb too', async () => {
    expect(socketPathFrom(undefined, {})).toBe('/run/sandns/sandns.sock');
    expect(socketPathFrom(undefined, { SANDNS_SOCKET: '/e.sock' })).toBe('/e.sock');
    expect(socketPathFrom('/o.sock', { SANDNS_SOCKET: '/e.sock' })).toBe('/o.sock');
    expect((await cli(['network', 'ls', '--socket', '/x.sock'], () => [])).calls[0]!.socket).toBe('/x.sock');
    expect((await cli(['network', 'ls'], () => [], { SANDNS_SOCKET: '/e.sock' })).calls[0]!.socket).toBe('/e.sock');
  });
});

describe('CLI output and exit codes', () => {
  it('L1 network ls prints a table for people and the API JSON with --json', async () => {
    const table = await cli(['network', 'ls'], () => [NET]);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ID\s+DRIVER\s+SCOPE\s+SUBNET\s+GATEWAY\s+SUBNET6\s+INTERNAL\s+TTL\s+ENDPOINTS$/);
    expect(table.stdout.split('\n')[1]).toMatch(/^n1\s+aaaaaaaaaaaa\s+bridge\s+local\s+10\.9\.0\.0\/24\s+10\.9\.0\.1\s+-\s+no\s+600\s+1$/);
    const json = await cli(['network', 'ls', '--json'], () => [NET]);
    expect(JSON.parse(json.stdout)).toEqual([NET]);
  });

  it('L1 a refused operation exits 1 and prints the message with its code; --json prints {code, message}', async () => {
    const refuse = (): never => {
      throw new ApiCallError('ERR_NETWORK_EXISTS', 'network with name n1 already exists', 409);
    };
    const r = await cli(['network', 'create', 'n1'], refuse);
    expect([r.code, r.stderr, r.stdout]).toEqual([EXIT.FAILED, 'Error: network with name n1 already exists [ERR_NETWORK_EXISTS]\n', '']);
    const j = await cli(['--json', 'network', 'create', 'n1'], refuse);
    expect(JSON.parse(j.stderr)).toEqual({ code: 'ERR_NETWORK_EXISTS', message: 'network with name n1 already exists' });
  });

  it('L1 a daemon that is not running exits 3 with the command that starts it', async () => {
    const r = await cli(['--socket', '/nowhere.sock', 'sandbox', 'ls'], () => {
      throw new DaemonUnreachableError('/nowhere.sock', 'no such socket (is the daemon running?)');
    });
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toContain('[ERR_CLI_DAEMON_UNREACHABLE]');
    expect(r.stderr).toContain('sandns daemon --socket /nowhere.sock');
  });

  it('L1 usage mistakes exit 2 before any request', async () => {
    for (const argv of [
      ['network', 'create'], ['network', 'create', 'n', '--bogus'], ['network', 'create', 'n', '--ttl', 'soon'],
      ['network', 'create', 'n', '--ipv6'], ['network', 'create', 'n', '--subnet6', 'fd00::/64'],
      ['sandbox', 'create', 'x', '--add-host', 'nocolon'], ['sandbox', 'create', 'x', '--add-host', ':1.2.3.4'], ['connect', 'n1'], ['frobnicate'], ['network'],
    ]) {
      const r = await cli(argv);
      expect([argv.join(' '), r.code, r.calls.length]).toEqual([argv.join(' '), EXIT.USAGE, 0]);
    }
  });

  it('L1 --help exits 0 and lists every verb', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const verb of ['network', 'sandbox', 'connect', 'disconnect', 'records', 'resolve', 'daemon', 'metrics', 'status']) expect(r.stdout).toContain(verb);
  });

  it('R5 resolve shows status, answer and the explanation summary', async () => {
    const res = {
      sandbox: 'web', question: { name: 'db', type: 'A' },
      reply: { status: 'NOERROR', flags: ['qr', 'rd', 'ra'], answer: [{ name: 'db.', ttl: 600, class: 'IN', type: 'A', data: '10.9.0.3' }], authority: [], additional: [], timeMs: 1, server: '127.0.0.11#53 (UDP)' },
      explanation: { summary: 'A db.: answered on network n1', source: 'local' },
    };
    const r = await cli(['resolve', 'web', 'db'], () => res);
    expect(r.stdout).toContain('status: NOERROR   flags: qr rd ra');
    expect(r.stdout).toMatch(/db\.\s+600\s+A\s+10\.9\.0\.3/);
    expect(r.stdout.endsWith('why: A db.: answered on network n1\n')).toBe(true);
    const fwd = await cli(['resolve', 'web', 'example.org'], () => ({ ...res, explanation: { summary: 'forwarded', upstreams: ['10.0.0.53 (from the host)'] } }));
    expect(fwd.stdout.endsWith('why: forwarded\nupstreams: 10.0.0.53 (from the host)\n')).toBe(true);
  });
});

describe('M1 object names are checked before they go into a path', () => {
  it('M1 ".", ".." and other names the controller refuses are a usage error (exit 2, ERR_CLI_USAGE), with no request', async () => {
    for (const argv of [
      ['network', 'inspect', '.'], ['network', 'rm', '..'], ['sandbox', 'inspect', '.'], ['sandbox', 'rm', '..'], ['port', '.'], ['stats', '..'],
      ['connect', '.', 'web'], ['disconnect', '..', 'web'], ['resolve', '..', 'db'], ['sandbox', 'inspect', 'a/b'], ['network', 'inspect', 'n 1'],
      ['network', 'create', '.'], ['network', 'create', 'n 1'], ['sandbox', 'create', 'a/b'], ['sandbox', 'create', '..'],
    ]) {
      const r = await cli(argv, () => NET);
      expect([argv.join(' '), r.code, r.calls.length], r.stderr).toEqual([argv.join(' '), EXIT.USAGE, 0]);
      expect(r.stderr).toContain('ERR_CLI_USAGE');
    }
  });

  it('M1 valid names go into the path %-encoded as before', async () => {
    const r = await cli(['sandbox', 'inspect', 'a.b_c-1'], () => ({ id: 'a.b_c-1', endpoints: [] }));
    expect(r.calls.map((c) => c.path)).toEqual(['/sandboxes/a.b_c-1']);
  });
});

describe('sandns port with a filter', () => {
  const ports = { sandbox: 'web', ports: [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
  it('L1 a published port prints its line; one that is not published exits 1 saying so (as docker port); a malformed filter is a usage error before any request', async () => {
    const hit = await cli(['port', 'web', '80/tcp'], () => ports);
    expect([hit.code, hit.stdout]).toEqual([EXIT.OK, '80/tcp -> 0.0.0.0:8080\n']);
    for (const f of ['81', '80/udp']) {
      const miss = await cli(['port', 'web', f], () => ports);
      expect([miss.code, miss.stdout], f).toEqual([EXIT.FAILED, '']);
      expect(miss.stderr, f).toContain(`no public port ${f} published for web`);
      expect(miss.stderr).toContain('ERR_CLI_PORT_NOT_PUBLISHED');
    }
    for (const f of ['abc', '80/sctp', '80/tcp/x', '']) {
      const bad = await cli(['port', 'web', f], () => ports);
      expect([bad.code, bad.calls.length], f).toEqual([EXIT.USAGE, 0]);
    }
  });
});

describe('sandns daemon flag values', () => {
  it('L1 a malformed --log-level, --port-range, --run-dir or --cluster-store value is a usage error (exit 2) before anything starts', async () => {
    for (const argv of [
      ['daemon', '--log-level', 'loud'], ['daemon', '--port-range', '9-1'], ['daemon', '--port-range', 'x'], ['daemon', '--run-dir', ''],
      ['daemon', '--cluster-store', 'ftp://x', '--cluster-advertise', '10.0.0.1'],
    ]) {
      const r = await cli(argv);
      expect([argv.join(' '), r.code], r.stderr).toEqual([argv.join(' '), EXIT.USAGE]);
      expect(r.stderr).toContain('ERR_CLI_USAGE');
    }
  });
});

