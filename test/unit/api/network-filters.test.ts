import { describe, expect, it } from 'vitest';
import { LIST_FILTERS, networkMatches, parseNetworkFilters, PRUNE_FILTERS, untilTime } from '../../../api/network-filters.js';
import type { NetworkInfo } from '../../../controller/index.js';
import { SandnsError } from '../../../common/errors.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const net = (over: Partial<NetworkInfo>): NetworkInfo => ({
  id: 'ab12cd34ef56'.padEnd(64, '0'), name: 'front-end', driver: 'bridge', subnet: '10.9.0.0/24', gateway: '10.9.0.1', internal: false,
  scope: 'local', ttl: 600, driverOptions: {}, endpoints: [], ...over,
});
const F = (json: unknown, keys: readonly string[] = LIST_FILTERS) => parseNetworkFilters([JSON.stringify(json)], keys, NOW);
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof SandnsError ? `${e.code} ${e.status} ${e.message}` : 'untyped';
  }
  return undefined;
};

describe('network filters: parsing (Docker Engine API form)', () => {
  it('absent is no filter; both wire forms give the same lists', () => {
    expect(parseNetworkFilters([], LIST_FILTERS).size).toBe(0);
    expect(parseNetworkFilters([''], LIST_FILTERS).size).toBe(0);
    expect([...F({ label: ['a=b', 'c'], driver: ['bridge'] })]).toEqual([['label', ['a=b', 'c']], ['driver', ['bridge']]]);
    expect([...F({ label: { 'a=b': true, c: true } })]).toEqual([['label', ['a=b', 'c']]]);
    expect(F({ name: [] }).size).toBe(0);
  });

  it.each([
    ['not JSON', '{label:', 'must be a JSON object'],
    ['an array', '["label"]', 'must be a JSON object'],
    ['null', 'null', 'must be a JSON object'],
    ['an unknown key', '{"until":["1h"]}', 'unknown filter "until": this request takes name, id'],
    ['a string value', '{"name":"web"}', 'values of name must be a list of strings'],
    ['a list of numbers', '{"name":[1]}', 'values of name must be a list of strings'],
    ['a map with false', '{"name":{"web":false}}', 'values of name must be a list of strings'],
    ['a bad type', '{"type":["weird"]}', 'type must be custom or builtin'],
    ['a bad dangling', '{"dangling":["yes"]}', 'dangling must be true, false, 1 or 0'],
    ['an empty label', '{"label":[""]}', 'label needs KEY or KEY=VALUE'],
    ['dangling twice', '{"dangling":["true","false"]}', 'give dangling once, not 2 times'],
    ['a bad scope', '{"scope":["host"]}', 'scope must be local, global or swarm'],
    ['a label without key', '{"label":["=v"]}', 'label needs KEY or KEY=VALUE'],
  ])('400 ERR_INVALID_OPTION for %s', (_what, raw, message) => {
    const got = codeOf(() => parseNetworkFilters([raw], LIST_FILTERS, NOW));
    expect(got).toMatch(/^ERR_INVALID_OPTION 400 /);
    expect(got).toContain(message);
  });

  it('the parameter given twice, and prune keys on the list (and the reverse), are refused', () => {
    expect(codeOf(() => parseNetworkFilters(['{}', '{}'], LIST_FILTERS))).toContain('give the filters parameter once');
    expect(codeOf(() => F({ 'label!': ['x'] }))).toContain('unknown filter "label!"');
    expect(codeOf(() => F({ name: ['x'] }, PRUNE_FILTERS))).toContain('unknown filter "name": this request takes label, label!, until');
    expect(codeOf(() => F({ until: ['yesterday'] }, PRUNE_FILTERS))).toContain('until must be Unix seconds, an RFC 3339 time or a duration');
    expect(codeOf(() => F({ until: ['1h', '2h'] }, PRUNE_FILTERS))).toContain('give until once, not 2 times');
  });
});

describe('network filters: matching', () => {
  const web = net({ name: 'front-end', labels: { tier: 'web', 'a=b': 'x' } as Record<string, string>, endpoints: [{ id: 'e', name: 'w', ipv4: '10.9.0.2', ports: [], exposed: [], aliases: [] }] });
  const db = net({ id: 'ffee'.padEnd(64, '1'), name: 'back', driver: 'overlay', scope: 'global', labels: { tier: 'db', empty: '' } });
  const bare = net({ id: '0099'.padEnd(64, '2'), name: 'bare' });
  const names = (json: unknown, keys: readonly string[] = LIST_FILTERS): string[] =>
    [web, db, bare].filter((n) => networkMatches(n, F(json, keys), NOW)).map((n) => n.name);

  it('name and id match a part (not a regular expression); driver and scope are exact', () => {
    expect(names({ name: ['ack'] })).toEqual(['back']);
    expect(names({ name: ['front-end'] })).toEqual(['front-end']);
    expect(names({ name: ['.*'] })).toEqual([]);
    expect(names({ id: ['cd34'] })).toEqual(['front-end']);
    expect(names({ driver: ['overlay'] })).toEqual(['back']);
    expect(names({ driver: ['bridg'] })).toEqual([]);
    expect(names({ scope: ['local'] })).toEqual(['front-end', 'bare']);
    expect(names({ scope: ['swarm'] })).toEqual([]);
    expect(names({ scope: ['swarm', 'global'] })).toEqual(['back']);
  });

  it('label KEY, KEY=VALUE (a value may be empty); several values must all hold (Docker\'s MatchKVList)', () => {
    expect(names({ label: ['tier'] })).toEqual(['front-end', 'back']);
    expect(names({ label: ['tier=db'] })).toEqual(['back']);
    expect(names({ label: ['tier=d'] })).toEqual([]);
    expect(names({ label: ['empty='] })).toEqual(['back']);
    expect(names({ label: ['empty'] })).toEqual(['back']);
    expect(names({ label: ['tier=db', 'tier=web'] })).toEqual([]);
    expect(names({ label: ['tier', 'empty'] })).toEqual(['back']);
    expect(names({ label: { tier: true, empty: true } })).toEqual(['back']);
    // a key with "=" cannot be asked for by KEY=VALUE (checkLabels refuses such keys at create)
    expect(names({ label: ['a=b'] })).toEqual([]);
  });

  it('different keys must all match', () => {
    expect(names({ label: ['tier'], scope: ['local'] })).toEqual(['front-end']);
    expect(names({ label: ['tier=db'], scope: ['local'] })).toEqual([]);
  });

  it('type and dangling', () => {
    expect(names({ type: ['custom'] })).toEqual(['front-end', 'back', 'bare']);
    expect(names({ type: ['builtin'] })).toEqual([]);
    expect(names({ dangling: ['true'] })).toEqual(['back', 'bare']);
    expect(names({ dangling: ['0'] })).toEqual(['front-end']);
  });

  it('label! drops the networks for which all its values hold (Docker\'s prune); with label, both apply', () => {
    expect(names({ 'label!': ['tier'] }, PRUNE_FILTERS)).toEqual(['bare']);
    expect(names({ 'label!': ['tier=db'] }, PRUNE_FILTERS)).toEqual(['front-end', 'bare']);
    expect(names({ 'label!': ['tier=db', 'tier=web'] }, PRUNE_FILTERS)).toEqual(['front-end', 'back', 'bare']);
    expect(names({ 'label!': ['tier', 'empty'] }, PRUNE_FILTERS)).toEqual(['front-end', 'bare']);
    expect(names({ label: ['tier'], 'label!': ['tier=db'] }, PRUNE_FILTERS)).toEqual(['front-end']);
  });

  it('until: durations, Unix seconds and RFC 3339 times; an unknown creation time is never older', () => {
    const aged = (created?: string): NetworkInfo => net({ ...(created === undefined ? {} : { created }) });
    const older = (created: string | undefined, until: string): boolean => networkMatches(aged(created), F({ until: [until] }, PRUNE_FILTERS), NOW);
    expect(older('2026-12-02T10:00:00.000Z', '1h')).toBe(true);
    expect(older('2026-12-02T11:30:00.000Z', '1h')).toBe(false);
    expect(older('2026-12-02T10:30:00.000Z', '1h30m')).toBe(false);
    expect(older('2026-12-02T10:29:59.000Z', '1h30m')).toBe(true);
    expect(older('2026-12-02T11:59:59.000Z', '500ms')).toBe(true);
    expect(older('2026-12-01T00:00:00.000Z', String(Date.parse('2026-12-01T00:00:01Z') / 1000))).toBe(true);
    expect(older('2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00Z')).toBe(false);
    expect(older('2026-12-01T00:00:00.000Z', '2026-12-01T03:00:00+02:00')).toBe(true);
    expect(older('2026-12-01T00:00:00.000Z', '2026-12-01T01:00:00+02:00')).toBe(false);
    expect(older(undefined, '1s')).toBe(false);
    expect(untilTime('1.5h', NOW)).toBe(NOW - 5_400_000);
    // no offset: UTC, for a date and a date-time alike
    expect(untilTime('2026-12-01', NOW)).toBe(Date.parse('2026-12-01T00:00:00Z'));
    expect(untilTime('2026-12-01T10:00', NOW)).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(untilTime('2024-02-29', NOW)).toBe(Date.parse('2024-02-29T00:00:00Z'));
    for (const bad of ['1d', 'h', '-1h', '1h-', '2026-13-45', '2024-02-30', '2025-02-29T00:00Z', 'now']) expect(() => untilTime(bad, NOW), bad).toThrow(/until must be/);
  });
});
