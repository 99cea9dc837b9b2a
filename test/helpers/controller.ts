/**
 * A controller fixture for integration tests: an origin resolv.conf of the
 * test's own (no server unless given: never the machine's resolver), and a
 * teardown that removes every namespace, bridge and veth it made.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
      await controller.destroyAll();
      await controller.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
