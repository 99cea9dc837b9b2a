/**
 * Names (K5): every name derived from the runtime's parameters is a valid
 * DNS name (never an ADD failure), two containers never share a derived name
 * by a cut, and a name another endpoint holds gives way to a unique one.
 */
import { describe, expect, it } from 'vitest';
import { hostnameProblem } from '../../../common/dns-name.js';
import { dnsNameOf, endpointNameOf, uniqueNameOf } from '../../../cni/identity.js';
import { CID, env, mainConf, out, run } from './harness.js';
import { FakeDaemon, FakeStore } from './fake-daemon.js';

const none = new Map<string, string>();
const pod = (name: string): Map<string, string> => new Map([['K8S_POD_NAME', name]]);

describe('derived names', () => {
  it.each([
    ['ctr <namespace>-<id> is kept whole (issue-review-2: was cut to default-redi)', 'default-redis1', none, 'default-redis1'],
    ['an id whose 12th character is "-" (was default-web-, invalid)', 'default-web-1', none, 'default-web-1'],
    ['an id whose 12th character is "." (was default-web., invalid)', 'default-web.1', none, 'default-web.1'],
    ['a generated hex id: its first 12 (Docker\'s short id)', CID, none, CID.slice(0, 12)],
    ['a long id cut at 63 ending in "-": the "-" goes', `${'a'.repeat(62)}-b`, none, 'a'.repeat(62)],
    ['an id with a dot cut: each label is cleaned', `ns-${'x'.repeat(70)}`, none, `ns-${'x'.repeat(60)}`],
    ['K8S_POD_NAME as given', 'x1', pod('web'), 'web'],
    ['K8S_POD_NAME ending in "-" (podman allows it)', 'x1', pod('web-'), 'web'],
    ['K8S_POD_NAME with "..", a leading "." and odd characters', 'x1', pod('.my..web!app'), 'my.web-app'],
    ['K8S_POD_NAME with nothing usable: a name from the id\'s digest', 'x1', pod('---'), expect.stringMatching(/^cni-[0-9a-f]{12}$/)],
  ])('K5 %s', (_what, id, args, want) => {
    const name = endpointNameOf(id, args);
    expect(name).toEqual(want);
    expect(hostnameProblem(name)).toBeUndefined();
  });

  it('K5 any container id the CNI spec allows gives a valid name (1,000 random ids)', () => {
    const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';
    let seed = 42;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let i = 0; i < 1000; i++) {
      const id = 'a' + Array.from({ length: rand(90) }, () => chars[rand(chars.length)]).join('');
      expect(hostnameProblem(endpointNameOf(id, none)), id).toBeUndefined();
      expect(hostnameProblem(endpointNameOf('x', pod(id))), id).toBeUndefined();
      expect(hostnameProblem(uniqueNameOf(endpointNameOf(id, none), id)), id).toBeUndefined();
    }
  });

  it('K5 the unique name is stable for one container, distinct for two, and fits one label', () => {
    expect(uniqueNameOf('web', 'c1')).toBe(uniqueNameOf('web', 'c1'));
    expect(uniqueNameOf('web', 'c1')).not.toBe(uniqueNameOf('web', 'c2'));
    expect(uniqueNameOf('web', 'c1')).toMatch(/^web-[0-9a-f]{8}$/);
    expect(uniqueNameOf('w'.repeat(63), 'c1')).toMatch(new RegExp(`^w{54}-[0-9a-f]{8}$`));
    expect(dnsNameOf('web.')).toBe('web');
  });
});

describe('ADD with a name another endpoint holds', () => {
  it('K5 issue-review-2 two pods of one name (CRI-O, two Kubernetes namespaces): the second gets its unique name, ADD twice and CHECK find it', async () => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    const a = env('ADD', { CNI_CONTAINERID: 'pod-a', CNI_ARGS: 'K8S_POD_NAME=web;K8S_POD_NAMESPACE=prod' });
    const b = env('ADD', { CNI_CONTAINERID: 'pod-b', CNI_NETNS: '/run/netns/b', CNI_ARGS: 'K8S_POD_NAME=web;K8S_POD_NAMESPACE=dev' });
    expect((await run(d, store, a, mainConf)).exitCode).toBe(0);
    const first = out(await run(d, store, b, mainConf));
    expect(first.code).toBeUndefined();
    expect(d.sbs.get('pod-a')!.endpoints[0]).toMatchObject({ name: 'web', aliases: ['www'] });
    expect(d.sbs.get('pod-b')!.body.hostname).toBeUndefined(); // a hostname is served as a name too: it would answer 'web'
    expect(d.sbs.get('pod-b')!.endpoints[0]).toMatchObject({ name: uniqueNameOf('web', 'pod-b'), aliases: ['www'] }); // 'web' is pod-a's: not an alias of pod-b
    expect(out(await run(d, store, b, mainConf)).ips).toEqual(first.ips); // ADD twice: the same attachment
    expect(d.sbs.get('pod-b')!.endpoints).toHaveLength(1);
    const check = await run(d, store, { ...b, CNI_COMMAND: 'CHECK' }, { ...mainConf, prevResult: first });
    expect(check.exitCode, check.stdout).toBe(0);
  });

  it('K5 issue-review-2 ctr ids that shared their first 12 characters both join, under their own names', async () => {
    const d = new FakeDaemon();
    for (const id of ['default-redis1', 'default-redis2', 'default-web-1']) {
      expect((await run(d, new FakeStore(), env('ADD', { CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${id}` }), mainConf)).exitCode).toBe(0);
      expect(d.sbs.get(id)!.endpoints[0]!.name).toBe(id);
    }
  });
});
