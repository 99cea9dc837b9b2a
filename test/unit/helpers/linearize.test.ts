/**
 * The checker behind the randomized concurrency tests (L5) must be
 * able to fail: histories the daemon once produced (four creates with the
 * same subnet all 201, the same default /24 twice, a connect racing a delete
 * answering 500) are rejected; serial-consistent ones, and answers lost to a
 * kill -9, are accepted.
 */
import { describe, expect, it } from 'vitest';
import { linearize, type HistoryEntry } from '../../helpers/linearize.js';
import { sameState, topologyModel, type TopoOp, type TopoRes, type TopoState } from '../../helpers/topology-model.js';

const empty: TopoState = { nets: new Map(), sbs: new Set(), conns: new Map() };
type H = HistoryEntry<TopoOp, TopoRes>;
const h = (call: number, ret: number, op: TopoOp, result?: TopoRes): H => ({ op, call, ret, result });
const check = (history: H[], final: TopoState, init: TopoState = empty): boolean => linearize(history, topologyModel, init, (s) => sameState(s, final)).ok;
const state = (nets: [string, string][], sbs: string[] = [], conns: [string, string][] = []): TopoState => ({ nets: new Map(nets), sbs: new Set(sbs), conns: new Map(conns) });

describe('serial-model checker', () => {
  it('L5 four concurrent creates with one explicit subnet all answered 201: not linearizable', () => {
    const hist = ['a', 'b', 'c', 'd'].map((n, i) => h(i, 10 + i, { kind: 'netCreate', net: n, subnet: '10.1.0.0/24' }, { status: 201, subnet: '10.1.0.0/24' }));
    expect(check(hist, state([['a', '10.1.0.0/24'], ['b', '10.1.0.0/24'], ['c', '10.1.0.0/24'], ['d', '10.1.0.0/24']]))).toBe(false);
    const fixed = hist.map((x, i) => (i === 0 ? x : { ...x, result: { status: 409, code: 'ERR_NETWORK_SUBNET_OVERLAP' } }));
    expect(check(fixed, state([['a', '10.1.0.0/24']]))).toBe(true);
  });

  it('L4 two default creates given the same /24: not linearizable', () => {
    const hist = [h(0, 3, { kind: 'netCreate', net: 'a' }, { status: 201, subnet: '10.213.0.0/24' }), h(1, 2, { kind: 'netCreate', net: 'b' }, { status: 201, subnet: '10.213.0.0/24' })];
    expect(check(hist, state([['a', '10.213.0.0/24'], ['b', '10.213.0.0/24']]))).toBe(false);
  });

  it('L4 a connect racing a network delete: a 500 is never explained; a 404 after the delete is', () => {
    const init = state([['n', '10.1.0.0/24']], ['s']);
    const del = h(0, 3, { kind: 'netDelete', net: 'n' }, { status: 200 });
    expect(check([del, h(1, 2, { kind: 'connect', net: 'n', sb: 's' }, { status: 500, code: 'ERR_EXEC_FAILED' })], state([], ['s']), init)).toBe(false);
    expect(check([del, h(1, 2, { kind: 'connect', net: 'n', sb: 's' }, { status: 404, code: 'ERR_NETWORK_NOT_FOUND' })], state([], ['s']), init)).toBe(true);
    // Both succeeding cannot be: the network would have an endpoint when it is deleted.
    expect(check([del, h(1, 2, { kind: 'connect', net: 'n', sb: 's' }, { status: 201, ip: '10.1.0.2' })], state([], ['s']), init)).toBe(false);
  });

  it('L4 real-time order is respected: a create answered before a delete was sent cannot come after it', () => {
    const hist = [h(0, 1, { kind: 'sbCreate', sb: 's' }, { status: 201 }), h(2, 3, { kind: 'sbDelete', sb: 's' }, { status: 404, code: 'ERR_SANDBOX_NOT_FOUND' })];
    expect(check(hist, state([], ['s']))).toBe(false);
  });

  it('L4 the final state must match: a lost or resurrected object is caught', () => {
    const hist = [h(0, 1, { kind: 'sbCreate', sb: 's' }, { status: 201 })];
    expect(check(hist, state([], ['s']))).toBe(true);
    expect(check(hist, state([], []))).toBe(false);
    expect(check(hist, state([], ['s', 't']))).toBe(false);
  });

  it('L4 unanswered operations (kill -9) may have happened or not, but nothing else', () => {
    const hist = [h(0, Infinity, { kind: 'sbCreate', sb: 's' }), h(1, Infinity, { kind: 'netCreate', net: 'n' })];
    expect(check(hist, state([], []))).toBe(true);
    expect(check(hist, state([], ['s']))).toBe(true);
    expect(check(hist, state([['n', '10.213.5.0/24']], ['s']))).toBe(true);
    expect(check(hist, state([], ['t']))).toBe(false);
  });

  it('L4 addresses: two connects on one network given the same address are not linearizable', () => {
    const init = state([['n', '10.1.0.0/24']], ['s', 't']);
    const hist = [h(0, 2, { kind: 'connect', net: 'n', sb: 's' }, { status: 201, ip: '10.1.0.2' }), h(1, 3, { kind: 'connect', net: 'n', sb: 't' }, { status: 201, ip: '10.1.0.2' })];
    expect(check(hist, state([['n', '10.1.0.0/24']], ['s', 't'], [['n|s', '10.1.0.2'], ['n|t', '10.1.0.2']]), init)).toBe(false);
  });
});
