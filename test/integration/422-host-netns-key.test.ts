/**
 * L4: a sandbox's key is a namespace of its own. The daemon's own network namespace, or the host's (pid 1's), given
 * as a sandbox's netnsPath or as a late key, is refused (400) before anything is put into it: a connect would have
 * moved a veth, a default route and a DNS listener into the host. Compared by namespace identity, so any path that
 * leads to it (a /proc link, a bind mount) is refused too. Likewise one namespace is one sandbox's: a second sandbox
 * given it (by any path, at create or as a late key) is refused (409) while the first holds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { refusal } from '../helpers/refused.js';
import { setSandboxKey, type KeyDeps } from '../../controller/index.js';
import { silentLogger } from '../../common/log.js';

const tag = uniqueName('h');
const pin = `${tag}-pin`;
let t: TestController;
const keyDeps = (): KeyDeps => ({ changed: () => t.controller.changed(), logger: silentLogger() });

async function refusedOn(p: Promise<unknown>): Promise<{ code: string; status: number; field?: unknown }> {
  const err = await refusal(p);
  return { code: err.code, status: err.status, field: err.details?.field };
}

beforeAll(async () => {
  t = await testController('nameserver 192.0.2.53\n');
  // A bind mount of this process's (the host's) namespace under another name.
  await execa('ip', ['netns', 'attach', pin, String(process.pid)]);
});

afterAll(async () => {
  await t?.cleanup();
  await execa('ip', ['netns', 'del', pin], { reject: false });
});

describe('422 L4 the host namespace is never a sandbox key', () => {
  it('L4 netnsPath of the daemon\'s own or the host\'s namespace, by any path: 400 naming netnsPath, nothing made', async () => {
    for (const path of ['/proc/self/ns/net', `/proc/${process.pid}/ns/net`, '/proc/1/ns/net', `/run/netns/${pin}`]) {
      expect(await refusedOn(t.controller.newSandbox(`${tag}-a`, { netnsPath: path })), path).toEqual({ code: 'ERR_INVALID_OPTION', status: 400, field: 'netnsPath' });
      expect(t.controller.sandboxes()).toHaveLength(0);
    }
  });

  it('L4 the same as a late key: 400, and the sandbox stays keyless; a namespace of its own is then accepted', async () => {
    const sb = await t.controller.newSandbox(`${tag}-l`, { external: true });
    for (const path of ['/proc/1/ns/net', `/run/netns/${pin}`]) {
      expect(await refusedOn(setSandboxKey(sb, path, keyDeps())), path).toMatchObject({ code: 'ERR_INVALID_OPTION', status: 400 });
      expect(sb.info().netnsPath).toBe('');
    }
    await execa('ip', ['netns', 'add', `${tag}-own`]);
    try {
      await setSandboxKey(sb, `/run/netns/${tag}-own`, keyDeps());
      expect(sb.info().netnsPath).toBe(`/run/netns/${tag}-own`);
      await t.controller.deleteSandbox(sb);
    } finally {
      await execa('ip', ['netns', 'del', `${tag}-own`], { reject: false });
    }
  });

  it('L5 a namespace another sandbox holds, by any path (its own, a /proc link), at create or as a late key: 409 naming the holder, nothing made; free again once that sandbox is gone', async () => {
    const ns = `${tag}-sh`;
    await execa('ip', ['netns', 'add', ns]);
    const inside = spawn('ip', ['netns', 'exec', ns, 'sleep', '60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const first = await t.controller.newSandbox(`${tag}-s1`, { netnsPath: `/run/netns/${ns}` });
      const paths = [`/run/netns/${ns}`, `/proc/${inside.pid}/ns/net`];
      for (const path of paths) {
        const err = await refusal(t.controller.newSandbox(`${tag}-s2`, { netnsPath: path }));
        expect([err.code, err.status, err.details?.sandbox], path).toEqual(['ERR_SANDBOX_NETNS_IN_USE', 409, `${tag}-s1`]);
        expect(t.controller.sandboxes().map((s) => s.id)).toEqual([`${tag}-s1`]);
      }
      const late = await t.controller.newSandbox(`${tag}-s3`, { external: true });
      expect((await refusal(setSandboxKey(late, `/run/netns/${ns}`, keyDeps()))).code).toBe('ERR_SANDBOX_NETNS_IN_USE');
      expect(late.info().netnsPath).toBe('');
      // The first one goes: the namespace is free for the next (here the late key, then after its release, a create).
      await t.controller.deleteSandbox(first);
      await setSandboxKey(late, `/proc/${inside.pid}/ns/net`, keyDeps());
      expect((await refusal(t.controller.newSandbox(`${tag}-s4`, { netnsPath: `/run/netns/${ns}` }))).code).toBe('ERR_SANDBOX_NETNS_IN_USE');
      await t.controller.deleteSandbox(late);
      const again = await t.controller.newSandbox(`${tag}-s4`, { netnsPath: `/run/netns/${ns}` });
      await t.controller.deleteSandbox(again);
    } finally {
      inside.kill('SIGKILL');
      await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  });
});
