/**
 * C5 with L3 ("nothing leaks"), in-process: an origin resolv.conf refresh that
 * is still rewriting sandboxes' files while those sandboxes are deleted must
 * not make their files again. The rewrite creates what it writes (the file,
 * its digest, their directories), so a rewrite that ran after a delete removed
 * them used to leave /run/sandns/sandboxes/<id>/resolv.conf.hash or
 * /etc/netns/<id>/resolv.conf behind. Ten rounds of twelve sandboxes deleted
 * while the refresh runs. And a digest's temp file a crash left behind (kill -9
 * between its write and its rename) goes with its sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import type { Sandbox } from '../../controller/index.js';
import { digestTempPath } from '../../resolvconf/index.js';

describe('405 an origin refresh racing sandbox deletes leaves no file behind', () => {
  let t: TestController;
  const tag = uniqueName('rd');

  beforeAll(async () => {
    t = await testController('nameserver 192.0.2.1\n');
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('C5 L3 deleted while the refresh rewrites them: no resolv.conf, digest or directory of theirs is left', async () => {
    for (let round = 0; round < 10; round++) {
      const sbs: Sandbox[] = [];
      for (let i = 0; i < 12; i++) sbs.push(await t.controller.newSandbox(`${tag}r${round}s${i}`));
      const files = sbs.flatMap((sb) => [sb.info().resolvConfPath, `/run/sandns/sandboxes/${sb.id}`, `/etc/netns/${sb.id}`]);
      await writeFile(t.originPath, `nameserver 192.0.2.${round + 2}\n`); // a change: every sandbox's file is rewritten
      const refresh = t.controller.refreshOrigin();
      await Promise.all(sbs.map((sb) => sb.delete()));
      await refresh;
      expect(files.filter((f) => existsSync(f))).toEqual([]);
    }
  });

  it('L3 a digest write a crash cut short (its temp file left) goes with the sandbox, and its directory too', async () => {
    const sb = await t.controller.newSandbox(`${tag}crash`);
    const dir = `/run/sandns/sandboxes/${sb.id}`;
    const temp = digestTempPath(join(dir, 'resolv.conf.hash'));
    await writeFile(temp, 'sha256:'); // what a kill -9 between the temp file's write and its rename leaves
    await sb.delete();
    expect([temp, dir].filter((f) => existsSync(f))).toEqual([]);
  });
});
