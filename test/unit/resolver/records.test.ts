import { describe, expect, it } from 'vitest';
import { RecordTable } from '../../../resolver/records.js';
import { isSandnsError } from '../../../common/errors.js';

function table(): RecordTable {
  return new RecordTable('net1');
}

describe('RecordTable', () => {
  // Docker's TestUpdateSvcRecord: every name maps to the endpoint's addresses, by family.
  it.each([
    { label: 'v4only', ipv4: '172.16.0.2', ipv6: undefined, v4: ['172.16.0.2'], v6: [] },
    { label: 'v6only', ipv4: undefined, ipv6: 'fde6:045d:b2aa::2', v4: [], v6: ['fde6:45d:b2aa::2'] },
    { label: 'dual', ipv4: '172.16.0.2', ipv6: 'fde6:045d:b2aa::2', v4: ['172.16.0.2'], v6: ['fde6:45d:b2aa::2'] },
  ])('R5 TestUpdateSvcRecord $label: both names in the right tables, gone after removal', ({ ipv4, ipv6, v4, v6 }) => {
    const t = table();
    t.addEndpoint({ endpointId: 'ep1', names: ['ep1', 'id-ep1'], ipv4, ipv6 });
    for (const name of ['ep1', 'id-ep1']) {
      expect(t.lookup(name)?.v4).toEqual(v4);
      expect(t.lookup(name)?.v6).toEqual(v6);
    }
    t.removeEndpoint('ep1');
    expect(t.lookup('ep1')).toBeUndefined();
    expect(t.lookup('id-ep1')).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('R3 names are stored lowercased; lookups take the lowercased name', () => {
    const t = table();
    t.addEndpoint({ endpointId: 'ep1', names: ['MyCtr'], ipv4: '10.0.0.2' });
    expect(t.lookup('myctr')?.v4).toEqual(['10.0.0.2']);
    expect(t.lookup('MyCtr')).toBeUndefined();
  });

  it('R5 a shared alias returns every address, de-duplicated', () => {
    const t = table();
    t.addEndpoint({ endpointId: 'a', names: ['a', 'web'], ipv4: '10.0.0.2' });
    t.addEndpoint({ endpointId: 'b', names: ['b', 'web'], ipv4: '10.0.0.3', ipv6: 'fd00::3' });
    t.addEndpoint({ endpointId: 'c', names: ['c', 'WEB'], ipv4: '10.0.0.3' });
    const set = t.lookup('web');
    expect(set?.v4).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(set?.v6).toEqual(['fd00::3']);
    expect([...(set?.v4Wire ?? [])]).toEqual([10, 0, 0, 2, 10, 0, 0, 3]);
    expect(set?.v6Wire.length).toBe(16);
    t.removeEndpoint('a');
    expect(t.lookup('web')?.v4).toEqual(['10.0.0.3']);
    t.removeEndpoint('c');
    expect(t.lookup('web')?.v4).toEqual(['10.0.0.3']);
    expect(t.lookup('c')).toBeUndefined();
  });

  it('R5 PTR gives the first name with its case, plus the network', () => {
    const t = table();
    t.addEndpoint({ endpointId: 'ep1', names: ['Web1', 'alias', 'hostname'], ipv4: '10.0.0.2', ipv6: 'fd00::2' });
    expect(t.lookupReverse('10.0.0.2')).toBe('Web1.net1');
    expect(t.lookupReverse('fd00:0::2')).toBe('Web1.net1');
    expect(t.lookupReverse('10.0.0.9')).toBeUndefined();
    expect(t.lookupReverse('not-an-ip')).toBeUndefined();
  });

  // Docker's TestServiceVIPReuse: one IP under two owners survives the removal of one.
  it('R15 TestServiceVIPReuse: removing one of two endpoints with the same IP restores the other', () => {
    const t = table();
    t.addEndpoint({ endpointId: 'svc1', names: ['service_test'], ipv4: '192.168.0.1' });
    t.addEndpoint({ endpointId: 'svc2', names: ['other'], ipv4: '192.168.0.1' });
    expect(t.lookup('service_test')?.v4).toEqual(['192.168.0.1']);
    expect(t.lookupReverse('192.168.0.1')).toBe('service_test.net1');
    t.removeEndpoint('svc1');
    t.removeEndpoint('svc1');
    expect(t.lookupReverse('192.168.0.1')).toBe('other.net1');
    t.removeEndpoint('svc2');
    expect(t.lookupReverse('192.168.0.1')).toBeUndefined();
  });

  it('R15 re-adding an endpoint replaces its names (alias change)', () => {
    const t = table();
    t.addEndpoint({ endpointId: 'ep1', names: ['c1', 'old'], ipv4: '10.0.0.2' });
    t.addEndpoint({ endpointId: 'ep1', names: ['c1', 'new'], ipv4: '10.0.0.2' });
    expect(t.lookup('old')).toBeUndefined();
    expect(t.lookup('new')?.v4).toEqual(['10.0.0.2']);
    expect(t.entries()).toEqual([
      { name: 'c1', endpointId: 'ep1', v4: ['10.0.0.2'], v6: [] },
      { name: 'new', endpointId: 'ep1', v4: ['10.0.0.2'], v6: [] },
    ]);
  });

  it('R5 duplicate names of one endpoint count once; a trailing dot is dropped', () => {
    const t = table();
    t.addEndpoint({ endpointId: 'ep1', names: ['c1', 'C1', 'c1.', 'host'], ipv4: '10.0.0.2' });
    expect(t.entries().map((e) => e.name)).toEqual(['c1', 'host']);
    expect(t.size).toBe(2);
  });

  it('R7 lookupService: SRV targets for an exposed port, [] for a known name without it', () => {
    const t = table();
    t.addEndpoint({ endpointId: 'a', names: ['task1', 'web'], ipv4: '192.168.10.2', ports: [{ port: 80, proto: 'tcp' }] });
    t.addEndpoint({ endpointId: 'b', names: ['task2', 'web'], ipv4: '192.168.10.3', ports: [{ port: 80, proto: 'udp' }] });
    const http = t.lookupService('_80._tcp.web');
    expect(http?.map((s) => [s.target, s.port, s.addresses.v4])).toEqual([['task1.net1', 80, ['192.168.10.2']]]);
    expect(t.lookupService('_80._udp.web')?.map((s) => s.target)).toEqual(['task2.net1']);
    expect(t.lookupService('_81._tcp.web')).toEqual([]);
    expect(t.lookupService('_http._icmp.web')).toEqual([]);
    expect(t.lookupService('_80._tcp.nobody')).toBeUndefined();
    expect(t.lookupService('web')).toBeUndefined();
    expect(t.lookupService('_80.web')).toBeUndefined();
  });

  it.each([
    { rec: { endpointId: '', names: ['a'] }, field: 'endpointId' },
    { rec: { endpointId: 'x', names: [''] }, field: 'names' },
    { rec: { endpointId: 'x', names: ['a'], ipv4: '10.0.0.256' }, field: 'ipv4' },
    { rec: { endpointId: 'x', names: ['a'], ipv4: '10.0.0.0/24' }, field: 'ipv4' },
    { rec: { endpointId: 'x', names: ['a'], ipv6: '10.0.0.1' }, field: 'ipv6' },
    { rec: { endpointId: 'x', names: ['a'], ipv6: 'fe80::1%eth0' }, field: 'ipv6' },
    { rec: { endpointId: 'x', names: ['a'], ports: [{ port: 0, proto: 'tcp' as const }] }, field: 'ports' },
    { rec: { endpointId: 'x', names: ['a'], ports: [{ port: 53, proto: 'sctp' as 'tcp' }] }, field: 'ports' },
  ])('R5 an invalid record ($field) is rejected with ERR_RESOLVER_INVALID_RECORD', ({ rec, field }) => {
    const t = table();
    let caught: unknown;
    try {
      t.addEndpoint(rec);
    } catch (err) {
      caught = err;
    }
    expect(isSandnsError(caught, 'ERR_RESOLVER_INVALID_RECORD')).toBe(true);
    expect((caught as { details: { field: string } }).details.field).toBe(field);
    expect(t.size).toBe(0);
  });

  it('R5 a table of 20,000 endpoints resolves names and addresses', { timeout: 30_000 }, () => {
    const t = table();
    for (let i = 0; i < 20_000; i++) t.addEndpoint({ endpointId: `e${i}`, names: [`c${i}`], ipv4: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` });
    expect(t.size).toBe(20_000);
    expect(t.lookup('c19999')?.v4).toEqual(['10.0.78.31']);
    expect(t.lookupReverse('10.0.78.31')).toBe('c19999.net1');
  });
});
