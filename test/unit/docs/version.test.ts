import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SANDNS_VERSION } from '../../../common/version.js';
import { runCli } from '../../../bin/cli/program.js';

describe('version', () => {
  it('L1 the version the CLI prints is package.json\'s; --version and -v exit 0', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SANDNS_VERSION).toBe(pkg.version);
    for (const flag of ['--version', '-v']) {
      let out = '';
      const code = await runCli([flag], { stdout: (s) => (out += s), stderr: () => undefined, env: {}, connect: () => { throw new Error('no request expected'); } });
      expect([code, out], flag).toEqual([0, `${pkg.version}\n`]);
    }
  });
});
