import { describe, expect, it } from 'vitest';
import { sortEndpoints } from '../../../sandbox/order.js';

describe('endpoint order', () => {
  it('R4 priority first, then non-internal, then network name', () => {
    const eps = [
      { networkName: 'b', internal: false, priority: 0 },
      { networkName: 'a', internal: true, priority: 0 },
      { networkName: 'c', internal: false, priority: 0 },
      { networkName: 'z', internal: true, priority: 5 },
      { networkName: 'a2', internal: false, priority: 0 },
    ];
    expect(sortEndpoints(eps).map((e) => e.networkName)).toEqual(['z', 'a2', 'b', 'c', 'a']);
  });
});
