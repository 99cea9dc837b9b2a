/**
 * A controller fixture for integration tests: an origin resolv.conf of the
 * test's own (no server unless given: never the machine's resolver), and a
 * teardown that removes every namespace, bridge and veth it made.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createController, type Controller, type ControllerOptions } from '../../controller/index.js';
import { silentLogger } from '../../common/log.js';

/** A test controller and its cleanup. */
export interface TestController {
  controller: Controller;
  originPath: string;
  dir: string;
  cleanup(): Promise<void>;
}

/** Create a controller whose origin resolv.conf holds `origin` (default: no nameserver). */
export async function testController(origin = '# test origin: no servers\n', options: ControllerOptions = {}): Promise<TestController> {
  const dir = await mkdtemp(join(tmpdir(), 'sandns-test-'));
  const originPath = join(dir, 'resolv.conf');
  await writeFile(originPath, origin);
  const controller = createController({ logger: silentLogger(), originResolvConf: originPath, firewall: false, ...options });
  return {
    controller,
    originPath,
    dir,
    async cleanup() {
      // The bridges of the networks there are now: one whose delete fails inside destroyAll (its error is only
      // logged, to a silent logger here) is removed below, and named on stderr so a CI log shows which test.
      const bridges = controller.networks().filter((n) => n.driver === 'bridge').map((n) => ({ name: n.name, link: n.info().bridge as string | undefined }));
      await controller.destroyAll();
      await controller.close();
      for (const b of bridges) {
        if (b.link === undefined || (await execa('ip', ['link', 'show', 'dev', b.link], { reject: false })).exitCode !== 0) continue;
        process.stderr.write(`test controller cleanup: network ${b.name}'s bridge ${b.link} outlived destroyAll; deleting it\n`);
        await execa('ip', ['link', 'del', b.link], { reject: false });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
