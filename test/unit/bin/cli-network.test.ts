import { describe, expect, it } from 'vitest';
import { cli } from './fake-cli.js';
import { ApiCallError, DaemonUnreachableError, EXIT } from '../../../bin/cli/errors.js';
import { checkLabels, savedMeta } from '../../../controller/options.js';
import { SandnsError } from '../../../common/errors.js';

const ID = (c: string): string => c.repeat(64);
const NET = (name: string, c: string) => ({
  id: ID(c), name, driver: 'bridge', subnet: '10.9.0.0/24', gateway: '10.9.0.1', internal: false, scope: 'local', ttl: 600, driverOptions: {}, endpoints: [],
});
const filtersOf = (path: string): unknown => JSON.parse(new URLSearchParams(path.split('?')[1]).get('filters')!);

describe('L1 network labels, ls filters, rm of several, prune (CLI → API)', () => {
  it('create --label KEY=VALUE / KEY (value "", "=" kept in the value, a later KEY wins)', async () => {
    const r = await cli(['network', 'create', 'n1', '--label', 'tier=db', '--label', 'flag', '--label', 'url=a=b', '--label', 'tier=web'], () => NET('n1', 'a'));
    expect(r.calls[0]!.body).toEqual({ name: 'n1', labels: { tier: 'web', flag: '', url: 'a=b' } });
    for (const bad of ['=v', '']) {
      const u = await cli(['network', 'create', 'n1', '--label', bad]);
      expect([u.code, u.calls.length, u.stderr]).toEqual([EXIT.USAGE, 0, expect.stringContaining('write KEY=VALUE or KEY')]);
    }
  });

  it('ls -f sends Docker\'s filters JSON, split at the first "="; -q prints ids (12 characters, whole with --no-trunc)', async () => {
    const list = [NET('a', 'a'), NET('b', 'b')];
    const r = await cli(['network', 'ls', '-q', '-f', 'label=tier=db', '-f', 'label=x', '--filter', 'driver=bridge'], () => list);
    expect(r.calls[0]!.path.split('?')[0]).toBe('/networks');
    expect(filtersOf(r.calls[0]!.path)).toEqual({ label: ['tier=db', 'x'], driver: ['bridge'] });
    expect(r.stdout).toBe(`${'a'.repeat(12)}\n${'b'.repeat(12)}\n`);
    const whole = await cli(['network', 'ls', '-q', '--no-trunc'], () => list);
    expect([whole.calls[0]!.path, whole.stdout]).toEqual(['/networks', `${ID('a')}\n${ID('b')}\n`]);
    const table = await cli(['network', 'ls', '--no-trunc'], () => list);
    expect(table.stdout).toContain(ID('a'));
    expect((await cli(['network', 'ls'], () => list)).stdout).not.toContain(ID('a'));
    const bad = await cli(['network', 'ls', '-f', 'label']);
    expect([bad.code, bad.calls.length, bad.stderr]).toEqual([EXIT.USAGE, 0, expect.stringContaining('--filter label: write KEY=VALUE')]);
  });

  it('inspect shows labels and the creation time', async () => {
    const r = await cli(['network', 'inspect', 'a'], () => ({ ...NET('a', 'a'), labels: { tier: 'db', x: '' }, created: '2026-12-02T01:02:03.004Z' }));
    expect(r.stdout).toMatch(/Labels: +tier=db, x=\n/);
    const tricky = await cli(['network', 'inspect', 'a'], () => ({ ...NET('a', 'a'), labels: { k: 'a, b=c', q: 'say "hi"' } }));
    expect(tricky.stdout).toMatch(/Labels: +k="a, b=c", q="say \\"hi\\""\n/);
    expect(r.stdout).toMatch(/Created: +2026-12-02T01:02:03.004Z\n/);
    expect((await cli(['network', 'inspect', 'a'], () => NET('a', 'a'))).stdout).toMatch(/Labels: +-\nCreated: +-\n/);
  });

  it('rm of several goes on past a refusal, prints each refusal, and exits 1; names are checked before anything is sent', async () => {
    const r = await cli(['network', 'rm', 'a', 'busy', 'c'], (c) => {
      if (c.path.endsWith('/busy')) throw new ApiCallError('ERR_NETWORK_ACTIVE_ENDPOINTS', 'network busy has 1 active endpoint(s): disconnect them first', 403);
      return { name: c.path.split('/').pop() };
    });
    expect(r.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['DELETE /networks/a', 'DELETE /networks/busy', 'DELETE /networks/c']);
    expect([r.code, r.stdout, r.stderr]).toEqual([EXIT.FAILED, 'a\nc\n', 'Error: network busy has 1 active endpoint(s): disconnect them first [ERR_NETWORK_ACTIVE_ENDPOINTS]\n']);
    const bad = await cli(['network', 'rm', 'a', 'b/c']);
    expect([bad.code, bad.calls.length]).toEqual([EXIT.USAGE, 0]);
    const down = await cli(['network', 'rm', 'a', 'b'], () => {
      throw new DaemonUnreachableError('/run/x.sock', 'no such file');
    });
    expect([down.code, down.calls.length]).toEqual([EXIT.UNREACHABLE, 1]);
  });

  it('sandbox rm of several and sandbox ls -q behave as the network verbs', async () => {
    const r = await cli(['sandbox', 'rm', 'a', 'b'], (c) => {
      if (c.path.endsWith('/a')) throw new ApiCallError('ERR_SANDBOX_NOT_FOUND', 'no such sandbox: a', 404);
      return { name: 'b' };
    });
    expect(r.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['DELETE /sandboxes/a', 'DELETE /sandboxes/b']);
    expect([r.code, r.stdout, r.stderr]).toEqual([EXIT.FAILED, 'b\n', 'Error: no such sandbox: a [ERR_SANDBOX_NOT_FOUND]\n']);
    const json = await cli(['--json', 'sandbox', 'rm', 'b'], () => ({ name: 'b' }));
    expect([json.code, JSON.parse(json.stdout)]).toEqual([0, [{ name: 'b' }]]);
    const q = await cli(['sandbox', 'ls', '-q'], () => [{ id: 'web', endpoints: [] }, { id: 'db', endpoints: [] }]);
    expect(q.stdout).toBe('web\ndb\n');
  });

  it('prune asks first: no terminal or any answer but yes removes nothing (exit 1 ERR_CLI_CANCELLED); yes or --force prunes', async () => {
    const pruned = () => ({ deleted: ['a', 'b'], failed: [] });
    const none = await cli(['network', 'prune'], pruned);
    expect([none.code, none.calls.length, none.stderr]).toEqual([EXIT.FAILED, 0, expect.stringContaining('[ERR_CLI_CANCELLED]')]);
    const asked: string[] = [];
    const no = await cli(['network', 'prune'], pruned, {}, async (q) => (asked.push(q), false));
    expect([no.code, no.calls.length, asked[0]]).toEqual([EXIT.FAILED, 0, expect.stringContaining('Are you sure you want to continue? [y/N]')]);
    const yes = await cli(['network', 'prune', '--filter', 'until=24h', '--filter', 'label!=keep'], pruned, {}, async () => true);
    expect(yes.calls[0]!.method).toBe('POST');
    expect(filtersOf(yes.calls[0]!.path)).toEqual({ until: ['24h'], 'label!': ['keep'] });
    expect([yes.code, yes.stdout]).toEqual([0, 'Deleted Networks:\na\nb\n']);
    const forced = await cli(['network', 'prune', '-f'], () => ({ deleted: [], failed: [{ name: 'x', code: 'ERR_LINK_BUSY', message: 'bridge busy' }] }));
    expect([forced.calls[0]!.path, forced.code, forced.stdout, forced.stderr]).toEqual(['/networks/prune', EXIT.FAILED, '', 'Error: x: bridge busy [ERR_LINK_BUSY]\n']);
  });
});

describe('L1 labels (controller options)', () => {
  const refusal = (v: unknown): string | undefined => {
    try {
      checkLabels('labels', v);
    } catch (e) {
      return e instanceof SandnsError ? `${e.code} ${e.message}` : 'untyped';
    }
    return undefined;
  };

  it('keeps string values and sorts by key', () => {
    expect(Object.entries(checkLabels('labels', { b: '2', a: '', 'com.example/x': 'y=z' }))).toEqual([['a', ''], ['b', '2'], ['com.example/x', 'y=z']]);
    expect(checkLabels('labels', undefined)).toEqual({});
  });

  it.each([
    ['a list', ['a=b'], 'must be an object'],
    ['null', null, 'must be an object'],
    ['a number value', { a: 1 }, 'value of "a" must be a string'],
    ['an empty key', { '': 'x' }, 'must be 1-256 characters'],
    ['a key with "="', { 'a=b': 'x' }, 'without "="'],
    ['a key with a newline', { 'a\nb': 'x' }, 'control characters'],
    ['a value with a newline', { a: 'x\ny' }, 'control characters'],
    ['a C1 control character (8-bit CSI)', { a: 'x\u009b31my' }, 'control characters'],
    ['a bidirectional override', { 'a\u202eb': 'x' }, 'control characters'],
    ['a long key', { ['k'.repeat(257)]: 'x' }, 'must be 1-256 characters'],
    ['a long value', { a: 'v'.repeat(4097) }, 'at most 4096 characters'],
    ['65 labels', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, ''])), 'at most 64 are kept'],
  ])('refuses %s (400 ERR_INVALID_OPTION)', (_what, v, message) => {
    const got = refusal(v);
    expect(got).toMatch(/^ERR_INVALID_OPTION /);
    expect(got).toContain(message);
  });

  it('labels read back: each valid one kept on its own, each bad one said; a time in any RFC 3339 spelling kept as toISOString writes it', () => {
    expect(savedMeta({ b: 'c', a: 'b' }, '2026-12-02T01:02:03.004Z')).toEqual({ meta: { labels: { a: 'b', b: 'c' }, created: '2026-12-02T01:02:03.004Z' }, dropped: [] });
    const mixed = savedMeta({ ok: 'yes', 'bad=key': 'x', n: 1 }, 'yesterday');
    expect(mixed.meta).toEqual({ labels: { ok: 'yes' } });
    expect(mixed.dropped).toEqual([
      'label "bad=key": key "bad=key" must be 1-256 characters without "=" or control characters', 'label "n": value of "n" must be a string',
      'creation time "yesterday": not an RFC 3339 time',
    ]);
    expect(savedMeta(undefined, '2026-12-02T03:02:03+02:00')).toEqual({ meta: { created: '2026-12-02T01:02:03.000Z' }, dropped: [] });
    expect(savedMeta(null, 7)).toEqual({ meta: {}, dropped: ['labels that are not an object', 'creation time "7": not an RFC 3339 time'] });
    const many = savedMeta(Object.fromEntries(Array.from({ length: 66 }, (_, i) => [`k${String(i).padStart(2, '0')}`, ''])), undefined);
    expect([Object.keys(many.meta.labels!).length, many.dropped]).toEqual([64, ['label "k64": more than 64 labels', 'label "k65": more than 64 labels']]);
  });
});
