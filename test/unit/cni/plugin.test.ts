/**
 * The plugin end to end over a fake daemon (CNI spec 1.0.0 ADD/CHECK/DEL/
 * VERSION; the modes, names, errors and deferred DEL).
 */
import { describe, expect, it } from 'vitest';
import { CID, NETNS, chainedConf, env, mainConf, out, prevResult, run } from './harness.js';
import { FakeDaemon, FakeStore } from './fake-daemon.js';

describe('VERSION', () => {
  it('K1 VERSION lists 0.3.0, 0.3.1, 0.4.0 and 1.0.0 and needs no daemon', async () => {
    const d = new FakeDaemon();
    d.down = true;
    const o = await run(d, new FakeStore(), { CNI_COMMAND: 'VERSION', CNI_PATH: 'dummy', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy' }, { cniVersion: '1.0.0' });
    expect(o.exitCode).toBe(0);
    expect(out(o)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
  });
});

describe('ADD, main mode', () => {
  it('K3 K5 K6 creates the network from the keys, names the endpoint K8S_POD_NAME and returns interfaces, ips, routes and dns', async () => {
    const d = new FakeDaemon();
    const o = await run(d, new FakeStore(), env('ADD', { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web' }), mainConf);
    expect(o.exitCode).toBe(0);
    const r = out(o);
    expect(r.cniVersion).toBe('1.0.0');
    expect(r.interfaces).toEqual([{ name: 'sv0123456789ab' }, { name: 'eth0', mac: '02:42:0a:00:00:02', sandbox: NETNS }]);
    expect(r.ips).toEqual([{ interface: 1, address: '10.77.0.2/24', gateway: '10.77.0.1' }]);
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.77.0.1' }]);
    expect(r.dns).toEqual({ nameservers: ['127.0.0.11'], search: [], options: ['ndots:0'] });
    expect(d.nets.get('cninet')).toMatchObject({ driver: 'bridge', subnet: '10.77.0.0/24' });
    const sb = d.sbs.get(CID)!;
    expect(sb.netnsPath).toBe(NETNS);
    expect(sb.endpoints[0]).toMatchObject({ name: 'web', aliases: ['www'], ifname: 'eth0' }); // 'web' is the name already
  });

  it('K5 without K8S_POD_NAME the name of a hex CNI_CONTAINERID is its first 12 characters', async () => {
    const d = new FakeDaemon();
    await run(d, new FakeStore(), env('ADD'), mainConf);
    expect(d.sbs.get(CID)!.endpoints[0]!.name).toBe(CID.slice(0, 12));
  });

  it('K1 0.4.0 and 0.3.1 results carry version "4" in each ips entry', async () => {
    for (const v of ['0.4.0', '0.3.1']) {
      const d = new FakeDaemon();
      const r = out(await run(d, new FakeStore(), env('ADD'), { ...mainConf, cniVersion: v }));
      expect(r.cniVersion).toBe(v);
      expect((r.ips as object[])[0]).toMatchObject({ version: '4', address: '10.77.0.2/24' });
    }
  });

  it('K3 code 7 when the existing network contradicts the keys, naming each difference', async () => {
    const d = new FakeDaemon();
    await run(d, new FakeStore(), env('ADD'), mainConf);
    const o = await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'other' }), { ...mainConf, subnet: '10.78.0.0/24', internal: true });
    expect(o.exitCode).toBe(1);
    const e = out(o);
    expect(e.code).toBe(7);
    expect(e.details).toMatch(/subnet is "10.77.0.0\/24", the configuration says "10.78.0.0\/24"; internal is false/);
  });

  it('K3 keys that match (a host address written as the subnet) are no mismatch', async () => {
    const d = new FakeDaemon();
    await run(d, new FakeStore(), env('ADD'), mainConf);
    const o = await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'other' }), { ...mainConf, subnet: '10.77.0.9/24' });
    expect(o.exitCode).toBe(0);
  });

  it('K5 K12 portMappings become publish entries only when declared in capabilities', async () => {
    const pm = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }];
    const d = new FakeDaemon();
    const bodies: unknown[] = [];
    const orig = d.request.bind(d);
    d.request = async (m, p, b) => {
      if (p.endsWith('/connect')) bodies.push(b);
      return orig(m, p, b);
    };
    await run(d, new FakeStore(), env('ADD'), { ...mainConf, runtimeConfig: { portMappings: pm } });
    await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c2' }), { ...mainConf, capabilities: { aliases: true }, runtimeConfig: { portMappings: pm } });
    expect((bodies[0] as { publish: unknown }).publish).toEqual([{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    expect((bodies[1] as { publish?: unknown }).publish).toBeUndefined();
  });

  it('K3 ADD twice for the same interface returns the same attachment', async () => {
    const d = new FakeDaemon();
    const a = out(await run(d, new FakeStore(), env('ADD'), mainConf));
    const b = out(await run(d, new FakeStore(), env('ADD'), mainConf));
    expect(b.ips).toEqual(a.ips);
    expect(d.sbs.get(CID)!.endpoints).toHaveLength(1);
  });

  it('K5 a sandbox left with another namespace (no DEL came) is replaced', async () => {
    const d = new FakeDaemon();
    await run(d, new FakeStore(), env('ADD'), mainConf);
    d.sbs.get(CID)!.endpoints.length = 0;
    const o = await run(d, new FakeStore(), env('ADD', { CNI_NETNS: '/run/netns/netns-new' }), mainConf);
    expect(o.exitCode).toBe(0);
    expect(d.sbs.get(CID)!.netnsPath).toBe('/run/netns/netns-new');
  });

  it('K3 "ipam" is refused with code 2 saying to chain sandns instead', async () => {
    const o = await run(new FakeDaemon(), new FakeStore(), env('ADD'), { ...mainConf, ipam: { type: 'host-local' } });
    expect(out(o)).toMatchObject({ code: 2, msg: expect.stringContaining('ipam') });
  });
});

describe('ADD, chained mode', () => {
  it('K4 K6 registers prevResult\'s address on an external network and returns prevResult with dns added', async () => {
    const d = new FakeDaemon();
    const o = await run(d, new FakeStore(), env('ADD', { CNI_ARGS: 'K8S_POD_NAME=api' }), chainedConf);
    expect(o.exitCode).toBe(0);
    const r = out(o);
    expect(r.interfaces).toEqual(prevResult.interfaces);
    expect(r.ips).toEqual(prevResult.ips);
    expect(r.routes).toEqual(prevResult.routes);
    expect(r.dns).toEqual({ nameservers: ['127.0.0.11'], search: ['corp.example'], options: ['ndots:0'] });
    expect(d.nets.get('chnet')).toMatchObject({ driver: 'external', subnet: '10.88.5.0/24', gateway: '10.88.5.1' });
    const sb = d.sbs.get(CID)!;
    expect(sb.endpoints[0]).toMatchObject({ name: 'api', aliases: ['db'], ipv4: '10.88.5.7', ifname: 'eth0' });
    expect(sb.body.dns).toEqual(['10.88.5.1']); // the previous nameservers become the sandbox's upstreams
  });

  it('K1 K4 a 1.0.0 prevResult (no version fields) is accepted and rendered back as 1.0.0', async () => {
    const d = new FakeDaemon();
    const prev = { ...prevResult, cniVersion: '1.0.0', ips: [{ interface: 2, address: '10.88.5.7/24', gateway: '10.88.5.1' }] };
    const r = out(await run(d, new FakeStore(), env('ADD'), { ...chainedConf, cniVersion: '1.0.0', prevResult: prev }));
    expect(r.ips).toEqual([{ interface: 2, address: '10.88.5.7/24', gateway: '10.88.5.1' }]);
  });

  it('K4 the runtime\'s network made again on other subnets (same name): the empty chained network is replaced; with containers on it, code 7 naming both subnets and nothing removed', async () => {
    const d = new FakeDaemon();
    const moved = (address: string, gateway: string): typeof prevResult => ({ ...prevResult, ips: [{ version: '4', interface: 2, address, gateway }] });
    const conf = (p: typeof prevResult) => ({ ...chainedConf, prevResult: p });
    expect((await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c1' }), chainedConf)).exitCode).toBe(0);
    // A container is still on it: the new subnet cannot be used, and the network stays as it is.
    const busy = await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c2' }), conf(moved('10.88.9.7/24', '10.88.9.1')));
    expect(out(busy)).toMatchObject({ code: 7, msg: expect.stringContaining('chnet'), details: expect.stringMatching(/10\.88\.5\.0\/24.*10\.88\.9\.0\/24/) });
    expect(d.nets.get('chnet')).toMatchObject({ subnet: '10.88.5.0/24' });
    // Once empty (the runtime removed its network and its containers), the next ADD replaces it.
    expect((await run(d, new FakeStore(), env('DEL', { CNI_CONTAINERID: 'c1' }), chainedConf)).exitCode).toBe(0);
    const o = await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c2' }), conf(moved('10.88.9.7/24', '10.88.9.1')));
    expect(o.exitCode).toBe(0);
    expect(d.nets.get('chnet')).toMatchObject({ driver: 'external', subnet: '10.88.9.0/24', gateway: '10.88.9.1' });
    // Two ADDs at once both find the old empty network: one replaces it, the other joins the new one (never a
    // removal of the network the first just made, never a false "containers are on it").
    expect((await run(d, new FakeStore(), env('DEL', { CNI_CONTAINERID: 'c2' }), chainedConf)).exitCode).toBe(0);
    const both = await Promise.all(['c5', 'c6'].map((cid) => run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: cid }), conf(moved('10.88.7.7/24', '10.88.7.1')))));
    expect(both.map((x) => x.exitCode)).toEqual([0, 0]);
    expect(d.nets.get('chnet')).toMatchObject({ subnet: '10.88.7.0/24' });
    for (const cid of ['c5', 'c6']) expect(d.sbs.get(cid)?.endpoints.map((e) => e.network)).toEqual(['chnet']);
    for (const cid of ['c5', 'c6']) expect((await run(d, new FakeStore(), env('DEL', { CNI_CONTAINERID: cid }), chainedConf)).exitCode).toBe(0);
    expect((await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c2' }), conf(moved('10.88.9.7/24', '10.88.9.1')))).exitCode).toBe(0);
    // The same subnets spelled otherwise are no change.
    const v6 = { ...prevResult, ips: [...moved('10.88.9.8/24', '10.88.9.1').ips, { version: '6', interface: 2, address: 'fd00:0:0:0::8/64', gateway: 'fd00::1' }] };
    expect((await run(d, new FakeStore(), env('DEL', { CNI_CONTAINERID: 'c2' }), chainedConf)).exitCode).toBe(0);
    expect((await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c3' }), conf(v6))).exitCode).toBe(0);
    const id = d.nets.get('chnet');
    expect((await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c4' }), conf({ ...v6, ips: [v6.ips[0]!, { ...v6.ips[1]!, address: 'fd00::9/64' }] }))).exitCode).toBe(0);
    expect(d.nets.get('chnet')).toBe(id); // not replaced
  });

  it('K4 a new runtime network on the subnet of one since removed (podman reuses 10.89.N.0/24): the empty chained network of the old name gives way; one with containers, or a network sandns manages, does not (code 102)', async () => {
    const d = new FakeDaemon();
    const other = (name: string) => ({ ...chainedConf, name, runtimeConfig: {} });
    expect((await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c1' }), other('appnet'))).exitCode).toBe(0);
    expect((await run(d, new FakeStore(), env('DEL', { CNI_CONTAINERID: 'c1' }), other('appnet'))).exitCode).toBe(0);
    expect((await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c2' }), other('appnet2'))).exitCode).toBe(0);
    expect([...d.nets.keys()]).toEqual(['appnet2']);
    // appnet2 has a container now: appnet3 on the same subnet is refused, and appnet2 stays.
    const refused = await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'c3' }), other('appnet3'));
    expect(out(refused)).toMatchObject({ code: 102, details: expect.stringContaining('ERR_NETWORK_SUBNET_OVERLAP') });
    expect([...d.nets.keys()]).toEqual(['appnet2']);
    // A bridge network (sandns's own links) is never taken for a leftover, even empty.
    const d2 = new FakeDaemon();
    expect((await run(d2, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'x' }), { ...mainConf, name: 'mine', subnet: '10.88.5.0/24' })).exitCode).toBe(0);
    expect((await run(d2, new FakeStore(), env('DEL', { CNI_CONTAINERID: 'x' }), { ...mainConf, name: 'mine', subnet: '10.88.5.0/24' })).exitCode).toBe(0);
    expect(out(await run(d2, new FakeStore(), env('ADD'), chainedConf))).toMatchObject({ code: 102 });
    expect(d2.nets.has('mine')).toBe(true);
  });

  it('K4 chained on a network sandns manages (bridge) is code 7', async () => {
    const d = new FakeDaemon();
    await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: 'x1' }), { ...mainConf, name: 'chnet' });
    const o = await run(d, new FakeStore(), env('ADD'), chainedConf);
    expect(out(o)).toMatchObject({ code: 7 });
  });

  it('K4 chained without an IPv4 address for CNI_IFNAME is code 7', async () => {
    const prev = { ...prevResult, ips: [{ version: '4', interface: 1, address: '10.88.5.7/24' }] }; // the host veth's
    const o = await run(new FakeDaemon(), new FakeStore(), env('ADD'), { ...chainedConf, prevResult: prev });
    expect(out(o)).toMatchObject({ code: 7, msg: expect.stringContaining('prevResult.ips') });
  });

  it('K4 main-mode keys in a chained config are code 7', async () => {
    const o = await run(new FakeDaemon(), new FakeStore(), env('ADD'), { ...chainedConf, subnet: '10.1.0.0/24' });
    expect(out(o)).toMatchObject({ code: 7 });
  });
});

describe('CHECK', () => {
  it('K7 passes on a healthy attachment and names the difference when there is one', async () => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    const add = out(await run(d, store, env('ADD', { CNI_ARGS: 'K8S_POD_NAME=web' }), mainConf));
    const conf = { ...mainConf, prevResult: add };
    expect((await run(d, store, env('CHECK'), conf)).exitCode).toBe(0);
    d.listenerAnswers = false;
    expect(out(await run(d, store, env('CHECK'), conf))).toMatchObject({ code: 101, msg: expect.stringContaining('listener') });
    d.listenerAnswers = true;
    d.linkProblems = ['host veth sv0123456789ab is missing'];
    expect(out(await run(d, store, env('CHECK'), conf))).toMatchObject({ code: 101, msg: expect.stringContaining('sv0123456789ab') });
    d.linkProblems = [];
    d.sbs.get(CID)!.listening = false;
    expect(out(await run(d, store, env('CHECK'), conf))).toMatchObject({ code: 101, msg: expect.stringContaining('not running') });
    expect(out(await run(d, store, env('CHECK', { CNI_IFNAME: 'eth1' }), conf))).toMatchObject({ code: 101, msg: expect.stringContaining('as eth0, not eth1') });
    d.sbs.delete(CID);
    expect(out(await run(d, store, env('CHECK'), conf))).toMatchObject({ code: 101, msg: expect.stringContaining('unknown to sandns') });
  });

  it('K7 a missing record or a different address is named', async () => {
    const d = new FakeDaemon();
    const add = out(await run(d, new FakeStore(), env('ADD'), chainedConf));
    const conf = { ...chainedConf, prevResult: add };
    expect((await run(d, new FakeStore(), env('CHECK'), conf)).exitCode).toBe(0);
    d.sbs.get(CID)!.endpoints[0]!.aliases = [];
    const orig = d.request.bind(d);
    d.request = async (m, p, b) => (p.startsWith('/records') ? { status: 200, body: [] } : orig(m, p, b));
    expect(out(await run(d, new FakeStore(), env('CHECK'), conf))).toMatchObject({ code: 101, msg: expect.stringContaining('record') });
    d.request = orig;
    const moved = { ...add, ips: [{ version: '4', interface: 2, address: '10.88.5.99/24' }] };
    expect(out(await run(d, new FakeStore(), env('CHECK'), { ...conf, prevResult: moved }))).toMatchObject({ code: 101, msg: expect.stringContaining('10.88.5.99') });
  });

  it('K7 CHECK on a 0.3.1 config is code 1', async () => {
    expect(out(await run(new FakeDaemon(), new FakeStore(), env('CHECK'), { ...mainConf, cniVersion: '0.3.1' }))).toMatchObject({ code: 1 });
  });
});

describe('DEL', () => {
  it('K8 DEL removes the endpoint, then the sandbox; twice, unknown, and with an empty CNI_NETNS it succeeds', async () => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    await run(d, store, env('ADD'), mainConf);
    expect((await run(d, store, env('DEL', { CNI_NETNS: '' }), mainConf)).exitCode).toBe(0);
    expect(d.sbs.has(CID)).toBe(false);
    const again = await run(d, store, env('DEL', { CNI_NETNS: '' }), mainConf);
    expect(again).toEqual({ stdout: '', exitCode: 0 });
    expect((await run(d, store, env('DEL', { CNI_CONTAINERID: 'never-seen' }), { ...mainConf, name: 'no-such-net' })).exitCode).toBe(0);
  });

  it('K8 DEL of one network keeps the sandbox while another network holds it', async () => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    await run(d, store, env('ADD'), mainConf);
    await run(d, store, env('ADD', { CNI_IFNAME: 'eth1' }), { ...mainConf, name: 'second', subnet: '10.79.0.0/24' });
    await run(d, store, env('DEL', { CNI_IFNAME: 'eth1' }), { ...mainConf, name: 'second' });
    expect(d.sbs.get(CID)!.endpoints.map((e) => e.network)).toEqual(['cninet']);
  });

  it('K9 daemon down: ADD and CHECK are code 11 saying how to start it; DEL succeeds and leaves a record replayed later', async () => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    await run(d, store, env('ADD'), mainConf);
    d.down = true;
    const a = out(await run(d, store, env('ADD', { CNI_CONTAINERID: 'c9' }), mainConf));
    expect(a).toMatchObject({ code: 11, details: expect.stringContaining('sandns --socket /fake/sandns.sock daemon') });
    expect(out(await run(d, store, env('CHECK'), mainConf))).toMatchObject({ code: 11 });
    const del = await run(d, store, env('DEL'), mainConf);
    expect(del.exitCode).toBe(0);
    expect(del.stderr).toMatch(/recorded/);
    expect([...store.records.keys()]).toEqual([`${CID}--eth0`]);
    d.down = false;
    // The next ADD of that container replays the DEL first: a clean attachment, not "already on network".
    const again = await run(d, store, env('ADD'), mainConf);
    expect(again.exitCode).toBe(0);
    expect(store.records.size).toBe(0);
    expect(d.calls).toContain(`POST /networks/cninet/disconnect`);
  });
});

describe('bad input', () => {
  it.each([
    [{ CNI_COMMAND: 'ADD' }, {}, 4],
    [{ ...env('ADD'), CNI_COMMAND: 'FROB' }, {}, 4],
    [{ ...env('ADD'), CNI_IFNAME: 'a/b' }, {}, 4],
    [{ ...env('ADD'), CNI_NETNS: 'relative' }, {}, 4],
    [{ ...env('ADD'), CNI_ARGS: 'novalue' }, {}, 4],
    [env('ADD'), 'not json', 6],
    [env('ADD'), '[1]', 6],
    [env('ADD'), { ...mainConf, cniVersion: '1.1.0' }, 1],
    [env('ADD'), { ...mainConf, cniVersion: undefined }, 7],
    [env('ADD'), { ...mainConf, name: 'bad name' }, 7],
    [env('ADD'), { ...mainConf, subnett: '10.0.0.0/24' }, 7],
    [env('ADD'), { ...mainConf, mtu: '1500' }, 7],
    [env('ADD'), { ...mainConf, runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80 }] } }, 7],
    [env('ADD'), { ...chainedConf, prevResult: { ips: [{ address: '10.0.0.1' }] } }, 7],
  ])('K11 %j with %j is CNI error code %i on stdout, exit 1', async (e, stdin, code) => {
    const o = await run(new FakeDaemon(), new FakeStore(), e as Record<string, string>, stdin);
    expect(o.exitCode).toBe(1);
    expect(out(o)).toMatchObject({ code, msg: expect.any(String) });
  });

  it('K11 a daemon refusal (an invalid alias from runtimeConfig) is code 7 with the daemon\'s code in details', async () => {
    const o = await run(new FakeDaemon(), new FakeStore(), env('ADD'), { ...mainConf, runtimeConfig: { aliases: { cninet: ['bad alias!'] } } });
    expect(out(o)).toMatchObject({ code: 7, details: expect.stringContaining('ERR_INVALID_NAME') });
  });
});
