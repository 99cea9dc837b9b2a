/**
 * The daemon with forwarding on (R10, R13, R16): `sandns resolve` explains a
 * forwarded answer, and /metrics carries each sandbox's resolver samples.
 * The only upstream is a fake server this test started on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { buildCli, randomSubnet, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { uniqueName } from '../helpers/names.js';
import { randomLoopback, startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import { digShort } from '../helpers/exec.js';

const tag = uniqueName('r');
const net = `${tag}n`;
const web = `${tag}-web`;
let build: { bin: string; remove(): Promise<void> };
let d: TestDaemon;
let up: TestUpstream;

beforeAll(async () => {
  up = await startTestUpstream(randomLoopback(), { 'example.test': '192.0.2.10' });
  build = await buildCli();
  d = await startDaemon(build.bin, `nameserver ${up.address}\n`);
  expect((await d.cli(['network', 'create', net, '--subnet', randomSubnet().subnet])).exitCode).toBe(0);
  expect((await d.cli(['sandbox', 'create', web])).exitCode).toBe(0);
  expect((await d.cli(['connect', net, web])).exitCode).toBe(0);
});

afterAll(async () => {
  await d?.cli(['sandbox', 'rm', web]).catch(() => undefined);
  await d?.cli(['network', 'rm', net]).catch(() => undefined);
  await d?.cleanup();
  await build?.remove();
  await up?.close();
  // Whatever the CLI could not remove (it failed, or the daemon died) goes by name.
  await execa('ip', ['netns', 'del', web], { reject: false });
  await rm(`/etc/netns/${web}`, { recursive: true, force: true });
});

describe('320 daemon forwarding', () => {
  it('R10 resolve explains a forwarded answer: which upstream, from which namespace, and the relayed status', async () => {
    const r = await d.json<{ reply: { status: string; answer: { data: string }[] }; explanation: { source: string; summary: string } }>(
      ['resolve', web, 'example.test'],
    );
    expect(r.reply.status).toBe('NOERROR');
    expect(r.reply.answer.map((a) => a.data)).toEqual(['192.0.2.10']);
    expect(r.explanation.source).toBe('upstream');
    expect(r.explanation.summary).toContain(`${up.address} (from the host)`);
    expect(r.explanation.summary).toContain('relayed as NOERROR');
    expect(up.seen).toContain('example.test');
  });

  it('R16 /metrics carries per-sandbox resolver samples: queries by type, rcodes, outcomes, upstream queries, latency', async () => {
    await digShort(web, ['example.test']);
    await digShort(web, ['nothing.test']);
    const m = await d.http('GET', '/metrics');
    expect(m.text).toMatch(new RegExp(`^sandns_resolver_queries_total\\{sandbox="${web}",qtype="A"\\} [1-9]`, 'm'));
    expect(m.text).toMatch(new RegExp(`^sandns_resolver_responses_total\\{sandbox="${web}",rcode="NXDOMAIN"\\} [1-9]`, 'm'));
    expect(m.text).toMatch(new RegExp(`^sandns_resolver_outcomes_total\\{sandbox="${web}",outcome="cached"\\} [1-9]`, 'm'));
    expect(m.text).toMatch(new RegExp(`^sandns_resolver_upstream_queries_total\\{sandbox="${web}",server="${up.address.replace(/\./g, '\\.')}[^"]*"\\} [1-9]`, 'm'));
    expect(m.text).toMatch(new RegExp(`^sandns_resolver_query_duration_seconds_count\\{sandbox="${web}"\\} [1-9]`, 'm'));
  });
});
