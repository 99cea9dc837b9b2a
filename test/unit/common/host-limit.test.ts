/**
 * Host limits found behind any failure (L1: 503 ERR_HOST_LIMIT, never 500):
 * fileLimitOf reads EMFILE / ENFILE in every form a step reports them (a
 * Node errno code, a native helper's numeric errno, an rtnetlink message,
 * strerror text) anywhere in the cause chain; errorResponse answers such a
 * 500 as 503 naming the limit and keeps other 500s and typed 4xx as they were.
 */
import { describe, expect, it } from 'vitest';
import { errorResponse } from '../../../api/routes.js';
import { ExecError, fileLimitOf, HostLimitError, SandnsError } from '../../../common/errors.js';
import { createLogger } from '../../../common/log.js';

const logger = createLogger({ level: 'silent' });
const wrapped = (cause: unknown): SandnsError => new SandnsError('ERR_SANDBOX_LISTENER', 'could not open 127.0.0.11:53', 500, { cause });

describe('host limits', () => {
  it.each([
    ['a Node fs error', Object.assign(new Error("EMFILE: too many open files, open '/x'"), { code: 'EMFILE' }), 'RLIMIT_NOFILE'],
    ['a native helper error (errno 24)', Object.assign(new Error('open namespace: Too many open files'), { code: 'ERR_NETNS_SOCKET', errno: 24 }), 'RLIMIT_NOFILE'],
    ['a negative libuv errno', Object.assign(new Error('x'), { errno: -24 }), 'RLIMIT_NOFILE'],
    ['a netlink message', new Error('rtnetlink: link add: EMFILE'), 'RLIMIT_NOFILE'],
    ['strerror of ENFILE', new Error('socket: Too many open files in system'), 'fs.file-max'],
    ['errno 23', Object.assign(new Error('x'), { errno: 23 }), 'fs.file-max'],
    ['three causes deep', wrapped(new ExecError(['nft'], 'spawn', { cause: Object.assign(new Error('spawn nft EMFILE'), { code: 'EMFILE' }) })), 'RLIMIT_NOFILE'],
  ])('L1 %s is the limit %s', (_label, err, limit) => {
    expect(fileLimitOf(err)?.limit).toBe(limit);
    expect(fileLimitOf(wrapped(err))?.limit).toBe(limit);
  });

  it.each([
    ['ENOSPC (a full disk, not a descriptor limit)', Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC', errno: 28 })],
    ['EACCES', Object.assign(new Error('EACCES'), { code: 'EACCES', errno: 13 })],
    ['a file named EMFILEX', new Error("ENOENT: open '/tmp/EMFILEX'")],
    ['no error at all', undefined],
  ])('L1 %s is no descriptor limit', (_label, err) => {
    expect(fileLimitOf(err)).toBeUndefined();
  });

  it('L1 errorResponse: a 500 caused by EMFILE is 503 ERR_HOST_LIMIT with the step\'s code in details; other answers are unchanged', () => {
    const limited = errorResponse(wrapped(Object.assign(new Error('x'), { errno: 24 })), logger);
    expect(limited).toMatchObject({ status: 503, body: { code: 'ERR_HOST_LIMIT', details: { limit: 'RLIMIT_NOFILE', errno: 'EMFILE', during: 'ERR_SANDBOX_LISTENER', step: 'could not open 127.0.0.11:53' } } });
    expect((limited.body as { message: string }).message).toMatch(/raise the daemon's limit \(ulimit -n, or the service manager's LimitNOFILE\)/);
    expect(errorResponse(Object.assign(new TypeError('boom'), { cause: { code: 'EMFILE' } }), logger)).toMatchObject({ status: 503, body: { details: { during: 'ERR_API_INTERNAL' } } });
    expect(errorResponse(wrapped(new Error('boom')), logger)).toMatchObject({ status: 500, body: { code: 'ERR_SANDBOX_LISTENER' } });
    const typed409 = new SandnsError('ERR_LINK_EXISTS', 'taken', 409, { cause: { code: 'EMFILE' } });
    expect(errorResponse(typed409, logger)).toMatchObject({ status: 409, body: { code: 'ERR_LINK_EXISTS' } });
    const ns = new HostLimitError({ errno: 'ENOSPC', limit: 'user.max_net_namespaces' }, 'ERR_SANDBOX_NETNS');
    expect(errorResponse(ns, logger)).toMatchObject({ status: 503, body: { code: 'ERR_HOST_LIMIT', details: { limit: 'user.max_net_namespaces' } } });
  });
});
