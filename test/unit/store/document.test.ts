import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AddressPool } from '../../../drivers/index.js';
import { Network } from '../../../controller/network.js';
import { Endpoint } from '../../../controller/endpoint.js';
import { Sandbox, type SandboxConfig } from '../../../controller/sandbox.js';
import type { ControllerCore } from '../../../controller/core.js';
import type { OpenedSandbox } from '../../../sandbox/index.js';
import { draftRecord, networkRecord, sandboxRecord, snapshotModel, type SandboxDraft } from '../../../controller/snapshot.js';
import { chooseState, decodeState, encodeState, STATE_VERSION, type PersistedState } from '../../../store/document.js';

/** The live model plus the objects in flight (the store's intents). */
interface SnapshotInput {
  readonly networks: readonly Network[];
  readonly sandboxes: readonly Sandbox[];
  readonly creatingNetworks: readonly Network[];
  readonly creatingSandboxes: readonly SandboxDraft[];
  readonly deletingSandboxes: readonly Sandbox[];
}

/** What the store writes for `input`: the controller's snapshot, then the intents in their phases. */
function snapshotState(input: SnapshotInput): PersistedState {
  const live = snapshotModel(input.networks, input.sandboxes);
  return {
    networks: [...live.networks, ...input.creatingNetworks.map((n) => networkRecord(n, 'creating'))],
    endpoints: live.endpoints,
    sandboxes: [...live.sandboxes, ...input.creatingSandboxes.map(draftRecord), ...input.deletingSandboxes.map((x) => sandboxRecord(x, 'deleting'))],
  };
}

const core = {} as ControllerCore;
const T0 = new Date('2026-01-02T03:04:05.000Z');

function network(id: string, name: string, subnet: string): Network {
  return new Network(core, { id, name, driver: 'bridge', internal: false, ttl: 30, pool4: new AddressPool(subnet), driverOptions: { mtu: 1400 } });
}

function config(id: string, extra: Partial<SandboxConfig> = {}): SandboxConfig {
  return {
    id, hostname: id, dns: [], dnsSearch: ['corp.test'], dnsOptions: [], extraHosts: [{ name: 'legacy', ip: '192.0.2.10' }],
    disableResolution: false, netnsName: id, hostsPath: `/etc/netns/${id}/hosts`, resolvConfPath: `/etc/netns/${id}/resolv.conf`, ...extra,
  };
}

function sandbox(c: SandboxConfig, ownsNetns: boolean, netnsPath: string): Sandbox {
  const opened = {
    netnsPath, ownsNetns,
    runtime: { files: { resolvConfHashPath: `/run/sandns/sandboxes/${c.id}/resolv.conf.hash`, ownedDirs: [`/run/sandns/sandboxes/${c.id}`] }, extServers: [{ address: '192.0.2.53', origin: 'host' }], ndotsSet: false },
  } as unknown as OpenedSandbox;
  return new Sandbox(core, c, opened);
}

function endpoint(net: Network, id: string, name: string, aliases: string[] = []): Endpoint {
  const ep = new Endpoint(core, { id, name, network: net, aliases, ipv4: net.pool4.allocate(), ports: [{ port: 80, proto: 'tcp' }], links: new Map([['db', 'pg']]), disableResolution: false });
  net.endpoints.set(ep.id, ep);
  return ep;
}

/** A model with every phase: joined, deferred (pending sandbox), joining, unjoined; a network and sandboxes in flight. */
function model(): { input: SnapshotInput; web: Sandbox } {
  const net = network('n1'.padEnd(64, '0'), 'appnet', '10.9.0.0/24');
  const web = sandbox(config('web'), true, '/run/netns/web');
  const hook = sandbox(config('hooked', { netnsName: undefined }), false, '');
  const ext = sandbox(config('ext', { netnsName: undefined, externalKey: '/proc/1/ns/net' }), false, '/proc/1/ns/net');
  const a = endpoint(net, 'e1'.padEnd(64, '0'), 'web', ['www']);
  a.attach({ sandbox: web, priority: 2, gateway: true, link: { hostIfname: 'sve10000000000', ifname: 'eth0', mac: '02:00:00:00:00:01' } });
  const b = endpoint(net, 'e2'.padEnd(64, '0'), 'hooked');
  b.attach({ sandbox: hook, priority: 0, gateway: false, link: undefined });
  const c = endpoint(net, 'e3'.padEnd(64, '0'), 'ext');
  c.attach({ sandbox: ext, priority: 0, gateway: false, link: undefined });
  c.joining = Promise.resolve();
  endpoint(net, 'e4'.padEnd(64, '0'), 'spare');
  const creating = network('n2'.padEnd(64, '0'), 'newnet', '10.9.1.0/24');
  const draft = { config: config('draft'), resolvConfHashPath: '/run/sandns/sandboxes/draft/resolv.conf.hash', ownedDirs: ['/run/sandns/sandboxes/draft'], originals: { '/etc/netns/draft/hosts': '/var/lib/sandns/originals/draft/hosts' } };
  const gone = sandbox(config('gone'), true, '/run/netns/gone');
  return { input: { networks: [net], sandboxes: [web, hook, ext], creatingNetworks: [creating], creatingSandboxes: [draft], deletingSandboxes: [gone] }, web };
}

describe('persist: snapshot', () => {
  it('L3 saves networks, endpoints and sandboxes with their join phase, key kind and in-flight phase', () => {
    const s = snapshotState(model().input);
    expect(s.networks.map((n) => [n.name, n.phase, n.subnet, n.gateway, n.ttl, n.driverOptions])).toEqual([
      ['appnet', 'live', '10.9.0.0/24', '10.9.0.1', 30, { mtu: 1400 }],
      ['newnet', 'creating', '10.9.1.0/24', '10.9.1.1', 30, { mtu: 1400 }],
    ]);
    const byName = Object.fromEntries(s.endpoints.map((e) => [e.name, e]));
    expect(byName.web).toMatchObject({
      aliases: ['www'], ipv4: '10.9.0.2', ports: [{ port: 80, proto: 'tcp' }], links: { db: 'pg' },
      join: { sandbox: 'web', phase: 'joined', priority: 2, gateway: true, info: { hostIfname: 'sve10000000000', ifname: 'eth0' } },
    });
    expect(byName.hooked!.join).toMatchObject({ sandbox: 'hooked', phase: 'deferred' });
    expect(byName.ext!.join).toMatchObject({ sandbox: 'ext', phase: 'joining' });
    expect(byName.spare!.join).toBeUndefined();
    expect(s.sandboxes.map((x) => [x.id, x.phase, x.key])).toEqual([
      ['web', 'live', { kind: 'owned', netnsName: 'web' }],
      ['hooked', 'live', { kind: 'late' }],
      ['ext', 'live', { kind: 'path', path: '/proc/1/ns/net' }],
      ['draft', 'creating', { kind: 'owned', netnsName: 'draft' }],
      ['gone', 'deleting', { kind: 'owned', netnsName: 'gone' }],
    ]);
    expect(s.sandboxes[0]).toMatchObject({ extServers: [{ address: '192.0.2.53', origin: 'host' }], dnsSearch: ['corp.test'], extraHosts: [{ name: 'legacy', ip: '192.0.2.10' }] });
  });

  it('L3 IPAM state is not saved: it is derived from the endpoint addresses', () => {
    const text = JSON.stringify(snapshotState(model().input));
    expect(text).not.toMatch(/cursor|used|pool/i);
  });
});

describe('persist: encode / decode', () => {
  const state = (): PersistedState => snapshotState(model().input);

  it('L3 a document round-trips: same state, sequence number, time and boot (none recorded: \'\')', () => {
    const d = decodeState(encodeState(state(), 42, T0));
    expect(d).toEqual({ state: state(), seq: 42, savedAt: T0.toISOString(), bootId: '' });
    const boot = '3f2a4c1e-0000-4000-8000-000000000001';
    expect(decodeState(encodeState(state(), 43, T0, boot))).toEqual({ state: state(), seq: 43, savedAt: T0.toISOString(), bootId: boot });
  });

  it('L3 every torn prefix of a document is refused as corrupt (ERR_STORE_CORRUPT), never half-used', () => {
    const text = encodeState(state(), 7, T0);
    fc.assert(fc.property(fc.integer({ min: 0, max: text.length - 2 }), (cut) => {
      expect(() => decodeState(text.slice(0, cut))).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
    }), { numRuns: 300 });
  });

  it('L3 a changed byte inside the state fails the checksum; garbage and foreign JSON are refused', () => {
    const text = encodeState(state(), 7, T0).replace('10.9.0.2', '10.9.0.9');
    expect(() => decodeState(text)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT', message: expect.stringMatching(/checksum/) }));
    for (const bad of ['\0\0\0garbage', '{}', '[1,2]', 'null', '{"format":"sandns-state","version":1,"seq":-1}']) {
      expect(() => decodeState(bad)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
    }
  });

  it('L3 a well-formed document with a bad field is refused, naming the field', () => {
    const s = state();
    (s.endpoints[0] as unknown as Record<string, unknown>).ipv4 = 7;
    expect(() => decodeState(encodeState(s, 1, T0))).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT', message: expect.stringContaining('state.endpoints[0].ipv4') }));
  });

  it('L3 a document from a newer sandns stops the restore (ERR_STORE_VERSION) instead of being overwritten', () => {
    const text = encodeState(state(), 1, T0).replace(`"version":${STATE_VERSION}`, `"version":${STATE_VERSION + 1}`);
    expect(() => decodeState(text)).toThrow(expect.objectContaining({ code: 'ERR_STORE_VERSION' }));
    expect(() => chooseState([{ name: 'state.json', text }])).toThrow(expect.objectContaining({ code: 'ERR_STORE_VERSION' }));
  });
});

describe('persist: chooseState', () => {
  const doc = (seq: number): string => encodeState(snapshotState(model().input), seq, T0);

  it('L3 the newest valid file wins, whatever its name (a crash between the two renames leaves the newest in .tmp)', () => {
    const r = chooseState([{ name: 'state.json.prev', text: doc(4) }, { name: 'state.json.tmp', text: doc(6) }]);
    expect([r.chosen?.name, r.chosen?.seq, r.rejected]).toEqual(['state.json.tmp', 6, []]);
  });

  it('L3 a torn newest file falls back to the last good one and says why', () => {
    const newest = doc(9);
    const r = chooseState([
      { name: 'state.json', text: newest.slice(0, newest.length / 2) },
      { name: 'state.json.tmp', text: newest.slice(0, 100) },
      { name: 'state.json.prev', text: doc(8) },
    ]);
    expect([r.chosen?.name, r.chosen?.seq]).toEqual(['state.json.prev', 8]);
    expect(r.rejected.map((x) => [x.name, x.code])).toEqual([['state.json', 'ERR_STORE_CORRUPT'], ['state.json.tmp', 'ERR_STORE_CORRUPT']]);
  });

  it('L3 nothing usable: no state chosen, every file listed as rejected', () => {
    const r = chooseState([{ name: 'state.json', text: 'x' }]);
    expect(r.chosen).toBeUndefined();
    expect(r.rejected).toHaveLength(1);
    expect(chooseState([])).toEqual({ chosen: undefined, rejected: [] });
  });
});
