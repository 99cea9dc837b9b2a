import { describe, expect, it } from 'vitest';
import { NetlinkError, netlinkErrno } from '../../../../common/io/rtnetlink.js';

describe('rtnetlink errors', () => {
  it('G7 the errno of a refused request is named, also when Node has no name for it', () => {
    expect(netlinkErrno(new Error('Request rejected: EEXIST'))).toBe('EEXIST');
    expect(netlinkErrno(Object.assign(new Error('x'), { code: 'ENOBUFS' }))).toBe('ENOBUFS');
    expect(netlinkErrno(new Error('Request rejected: Unknown system error -54'))).toMatch(/^EXFULL/);
    expect(netlinkErrno(new Error('Request rejected: Unknown system error -133'))).toBe('errno 133');
    expect(netlinkErrno(new Error('Timeout has been reached'))).toBe('');
    expect(netlinkErrno(new NetlinkError('receive', 'ENOBUFS'))).toBe('ENOBUFS');
  });

  it('G7 ERR_NETLINK_FAILED names the operation, the errno (or the cause) and the namespace', () => {
    const e = new NetlinkError('addr add 10.0.0.2/24 dev eth0', 'EEXIST', { netns: '/run/netns/x' });
    expect(e).toMatchObject({ code: 'ERR_NETLINK_FAILED', status: 500, errno: 'EEXIST', details: { op: 'addr add 10.0.0.2/24 dev eth0', errno: 'EEXIST', netns: '/run/netns/x' } });
    expect(e.message).toBe('rtnetlink: addr add 10.0.0.2/24 dev eth0 (in /run/netns/x): EEXIST');
    expect(new NetlinkError('link show', '', { cause: new Error('Timeout has been reached') }).message).toBe('rtnetlink: link show: Timeout has been reached');
  });
});
