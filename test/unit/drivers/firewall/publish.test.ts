import { describe, expect, it } from 'vitest';
import { formatMapping, normalizeExposedPorts, normalizePublishSpecs, parseExpose, parsePublish } from '../../../../drivers/index.js';

const bad = { code: 'ERR_INVALID_OPTION' };

describe('network stack: Docker -p syntax', () => {
  it.each([
    ['80', [{ containerPort: 80, protocol: 'tcp' }]],
    ['8080:80', [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['8080:80/udp', [{ hostPort: 8080, containerPort: 80, protocol: 'udp' }]],
    ['127.0.0.1:8080:80', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1::80', [{ hostIp: '127.0.0.1', containerPort: 80, protocol: 'tcp' }]],
    ['[::1]:8080:80/tcp', [{ hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['0.0.0.0:53:53/UDP', [{ hostIp: '0.0.0.0', hostPort: 53, containerPort: 53, protocol: 'udp' }]],
    ['8000-8010:80', [{ hostPort: 8000, hostPortEnd: 8010, containerPort: 80, protocol: 'tcp' }]],
    ['8000-8001:80-81', [{ hostPort: 8000, containerPort: 80, protocol: 'tcp' }, { hostPort: 8001, containerPort: 81, protocol: 'tcp' }]],
    ['80-81/udp', [{ containerPort: 80, protocol: 'udp' }, { containerPort: 81, protocol: 'udp' }]],
  ])('%s', (spec, want) => {
    expect(parsePublish(spec)).toEqual(want);
  });

  it.each(['', 'x', '80/sctp', '0', '65536', '8080:', '1.2.3:8080:80', '[::1:8080:80', '8000-8002:80-81', '90-80', '8080:80/tcp/udp'])('%j is refused with ERR_INVALID_OPTION', (spec) => {
    expect(() => parsePublish(spec)).toThrow(expect.objectContaining(bad));
  });

  it('--expose PORT[-END][/PROTO]', () => {
    expect(parseExpose('53/udp')).toEqual([{ port: 53, protocol: 'udp' }]);
    expect(parseExpose('8000-8001')).toEqual([{ port: 8000, protocol: 'tcp' }, { port: 8001, protocol: 'tcp' }]);
    expect(() => parseExpose('80:80')).toThrow(expect.objectContaining(bad));
  });
});

describe('network stack: the API publish and expose shapes', () => {
  it('normalises hostIp, drops hostPort 0 and an end equal to the start', () => {
    expect(normalizePublishSpecs([{ hostIp: '::ffff:0:0:0', containerPort: 80, protocol: 'tcp' }])).toEqual([{ hostIp: '::ffff:0:0:0', containerPort: 80, protocol: 'tcp' }]);
    expect(normalizePublishSpecs([{ hostIp: '', hostPort: 0, containerPort: 80 }])).toEqual([{ containerPort: 80, protocol: 'tcp' }]);
    expect(normalizePublishSpecs([{ hostPort: 90, hostPortEnd: 90, containerPort: 80, protocol: 'udp' }])).toEqual([{ hostPort: 90, containerPort: 80, protocol: 'udp' }]);
  });

  it.each([
    'nope', [1], [{}], [{ containerPort: 80, protocol: 'sctp' }], [{ containerPort: 80, hostIp: 'host' }], [{ containerPort: 80, hostPortEnd: 90 }],
    [{ containerPort: 80, hostPort: 90, hostPortEnd: 85 }], [{ containerPort: 80.5 }], [{ containerPort: 80, colour: 'red' }],
  ])('%j is refused', (v) => {
    expect(() => normalizePublishSpecs(v)).toThrow(expect.objectContaining(bad));
  });

  it('expose', () => {
    expect(normalizeExposedPorts([{ port: 53, protocol: 'udp' }, { port: 80 }])).toEqual([{ port: 53, protocol: 'udp' }, { port: 80, protocol: 'tcp' }]);
    expect(() => normalizeExposedPorts([{ port: 0 }])).toThrow(expect.objectContaining(bad));
  });

  it('docker port lines: one per family for a wildcard of both', () => {
    expect(formatMapping({ hostPort: 8080, containerPort: 80, protocol: 'tcp' })).toEqual(['80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080']);
    expect(formatMapping({ hostIp: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' })).toEqual(['53/udp -> 127.0.0.1:53']);
    expect(formatMapping({ hostIp: '::1', hostPort: 1, containerPort: 2, protocol: 'tcp' })).toEqual(['2/tcp -> [::1]:1']);
  });
});
