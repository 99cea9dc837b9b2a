import dgram from 'node:dgram';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { isSandnsError } from '../../../common/errors.js';
import { silentLogger } from '../../../common/log.js';
import { createResolver, type ResolverOptions } from '../../../resolver/index.js';
import { RESOLVER_ERROR_CODES } from '../../../resolver/errors.js';
import { TCP_DEFAULTS } from '../../../resolver/options.js';
import { query } from './_helpers.js';
import { network, view } from './_helpers.js';

const base: ResolverOptions = { view: view([network('net1')]), logger: silentLogger() };

describe('createResolver options (G9)', () => {
  it.each([
    { label: 'a view without networks', opts: { ...base, view: {} as ResolverOptions['view'] }, field: 'view' },
    { label: 'a missing logger', opts: { ...base, logger: undefined as unknown as ResolverOptions['logger'] }, field: 'logger' },
    { label: 'a stage that is not a function', opts: { ...base, stages: [42 as unknown as never] }, field: 'stages' },
    { label: 'a zero idle timeout', opts: { ...base, tcp: { idleTimeoutMs: 0 } }, field: 'tcp.idleTimeoutMs' },
    { label: 'a fractional connection cap', opts: { ...base, tcp: { maxConnections: 1.5 } }, field: 'tcp.maxConnections' },
    { label: 'a forwarding cache that is not a SharedCache', opts: { ...base, forwarding: { cache: {} as never } }, field: 'cache' },
    { label: 'a forwarding option out of range', opts: { ...base, forwarding: { options: { maxInFlight: 0 } } }, field: 'options.maxInFlight' },
    { label: 'an unknown TCP limit', opts: { ...base, tcp: { idleTimeout: 5 } as never }, field: 'tcp.idleTimeout' },
  ])('R14 $label is ERR_INVALID_OPTION naming $field', ({ opts, field }) => {
    let caught: unknown;
    try {
      createResolver(opts);
    } catch (err) {
      caught = err;
    }
    expect(isSandnsError(caught, 'ERR_INVALID_OPTION')).toBe(true);
    expect((caught as { details: { field: string } }).details.field).toBe(field);
  });

  it('R14 TCP limits default to 8 s idle, 128 queries per connection, 256 connections', () => {
    expect(TCP_DEFAULTS).toMatchObject({ idleTimeoutMs: 8000, maxQueriesPerConnection: 128, maxConnections: 256 });
  });

  it('R1 serve() twice is ERR_RESOLVER_ALREADY_SERVING; close() closes both handles', async () => {
    const r = createResolver(base);
    const udp = dgram.createSocket('udp4');
    const tcp = net.createServer();
    await new Promise<void>((res) => udp.bind(0, '127.0.0.1', res));
    await new Promise<void>((res) => tcp.listen(0, '127.0.0.1', res));
    r.serve({ udp, tcp });
    expect(() => r.serve({ udp, tcp })).toThrow(expect.objectContaining({ code: 'ERR_RESOLVER_ALREADY_SERVING' }));
    await r.close();
    expect(tcp.listening).toBe(false);
    expect(() => udp.address()).toThrow();
    await r.close();
  });

  it('R16 each resolver makes its own counters, filled by the pipeline and by its forwarding stages', async () => {
    const plain = createResolver(base);
    plain.handle(query('x.example'), 'udp');
    expect(plain.metrics.snapshot().outcomes.error).toBe(1);
    const fwd = createResolver({ ...base, forwarding: {} });
    expect(fwd.metrics).not.toBe(plain.metrics);
    await fwd.handle(query('x.example'), 'udp'); // no upstream servers: SERVFAIL from the forwarder
    expect(fwd.metrics.snapshot().outcomes.error).toBe(1);
    expect(plain.metrics.snapshot().outcomes.error).toBe(1);
    await fwd.close();
  });

  it('G7 every resolver error code has the ERR_RESOLVER_ form', () => {
    for (const code of RESOLVER_ERROR_CODES) expect(code).toMatch(/^ERR_RESOLVER_[A-Z_]+$/);
  });
});
