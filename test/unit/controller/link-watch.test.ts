/**
 * L2: the watch of vanished interfaces starts lazily (at the first sandbox)
 * and must not be lost when a driver's watch cannot start then (out of file
 * descriptors): watchEndpointLinks reports the failure (undefined), stops
 * what it started, and the next try starts every watch.
 */
import { describe, expect, it } from 'vitest';
import type { DriverRegistry } from '../../../drivers/index.js';
import { watchEndpointLinks } from '../../../controller/link-watch.js';
import { sinkLogger } from '../api/routes-fake.js';

function registry(failures: number) {
  let left = failures;
  const open: string[] = [];
  const driver = (name: string, fails: boolean) => ({
    name,
    watchEndpoints() {
      if (fails && left-- > 0) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      open.push(name);
      return { close: () => void open.splice(open.indexOf(name), 1) };
    },
  });
  const drivers = [driver('bridge', false), driver('overlay', true)];
  return { reg: { all: () => drivers } as unknown as DriverRegistry, open };
}

describe('link watch', () => {
  it('L2 a watch that cannot start is reported and nothing is left running; the next try starts every one', () => {
    const { reg, open } = registry(1);
    const { logger, lines } = sinkLogger();
    const deps = { drivers: reg, logger, networks: () => [], drop: async () => undefined };
    expect(watchEndpointLinks(deps)).toBeUndefined();
    expect(open).toEqual([]);
    expect(lines.some((l) => String(l.msg).includes('tried again at the next sandbox create'))).toBe(true);
    const stop = watchEndpointLinks(deps);
    expect(stop).toBeTypeOf('function');
    expect(open.sort()).toEqual(['bridge', 'overlay']);
    stop!();
    expect(open).toEqual([]);
  });
});
