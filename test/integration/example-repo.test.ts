/**
 * The bundled example as a new user runs it: `platter example --repo <dir>` then
 * `platter serve --repo <dir>`, as child processes, then the README request over HTTP, checked
 * against values computed here from examples/driver_stats/data/*.jsonl (latest event per driver).
 *
 * The CLI is spawned as `node --import tsx src/cli/platter.ts`, not `node bin/platter.js`:
 * bin/ loads dist/, which is only as fresh as the last `npm run build`, so a stale or missing
 * dist/ would test old code (or nothing) while src/ changes underneath. The tsx entry runs the
 * same main() bin/ reaches, from the sources under test; only bin/platter.js's 8-line launcher is
 * not exercised.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { entityColumn, featureColumn, isoSeconds, pyFloat32, pyRepr, responseText } from '../helpers/feast-json.js';
import { freePort } from '../helpers/services.js';
import { ROOT, runCli as run, waitHealthy, withTimeout, type Run } from '../helpers/cli.js';

const EXAMPLE = join(ROOT, 'examples', 'driver_stats');

type Rec = Record<string, unknown> & { driver_id: number; event_timestamp: string };

/** Latest record per driver of a jsonl source (what materialization leaves in the online store). */
function latest(view: string): Map<number, Rec> {
  const out = new Map<number, Rec>();
  for (const line of readFileSync(join(EXAMPLE, 'data', `${view}.jsonl`), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as Rec;
    const prev = out.get(r.driver_id);
    if (!prev || Date.parse(r.event_timestamp) > Date.parse(prev.event_timestamp)) out.set(r.driver_id, r);
  }
  return out;
}

describe('the bundled example repo through the real CLI', () => {
  let dir: string;
  let port: number;
  let server: Run | null = null;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'platter-example-'));
    // The sources only (no prebuilt .db files): `platter example` must build everything.
    cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.endsWith('.db') });

    const build = run(['example', '--repo', dir]);
    const res = await withTimeout(build.exited, 60_000, 'platter example');
    assert.deepEqual(res, { code: 0, signal: null }, `platter example failed:\n${build.output()}`);

    port = await freePort();
    const grpcPort = await freePort();
    server = run(['serve', '--repo', dir, '--port', String(port), '--grpc-port', String(grpcPort)]);
    await waitHealthy(server, port, 60_000);
  });

  after(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const post = async (body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };

  const hourly = latest('driver_hourly_stats');
  const profile = latest('driver_profile');
  const ids = [1001, 1002];
  const ts = (r: Rec) => isoSeconds(Date.parse(r.event_timestamp) / 1000);
  const h = ids.map((id) => hourly.get(id)!);
  const p = ids.map((id) => profile.get(id)!);

  it('the README request returns the latest hourly stats per driver', async () => {
    // guard the independent computation itself: the latest hour of the file, not the first
    assert.equal(h[0]!.event_timestamp, '2026-11-20T12:00:00Z');
    const res = await post({
      features: ['driver_hourly_stats:conv_rate', 'driver_hourly_stats:avg_daily_trips'],
      entities: { driver_id: ids },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(
      res.text,
      responseText(
        ['driver_id', 'conv_rate', 'avg_daily_trips'],
        [
          entityColumn(ids.map(String)),
          featureColumn(h.map((r) => pyFloat32(r.conv_rate as number)), 'PRESENT', h.map(ts)),
          featureColumn(h.map((r) => String(r.avg_daily_trips)), 'PRESENT', h.map(ts)),
        ],
      ),
    );
  });

  it('the driver_activity feature service, with and without full feature names', async () => {
    const cols = [
      entityColumn(ids.map(String)),
      featureColumn(h.map((r) => pyFloat32(r.conv_rate as number)), 'PRESENT', h.map(ts)),
      featureColumn(h.map((r) => String(r.avg_daily_trips)), 'PRESENT', h.map(ts)),
      featureColumn(p.map((r) => pyRepr(r.rating as number)), 'PRESENT', p.map(ts)),
      featureColumn(p.map((r) => String(r.is_active)), 'PRESENT', p.map(ts)),
    ];
    let res = await post({ feature_service: 'driver_activity', entities: { driver_id: ids }, full_feature_names: true });
    assert.equal(res.status, 200, res.text);
    assert.equal(
      res.text,
      responseText(['driver_id', 'hourly__conv_rate', 'hourly__avg_daily_trips', 'driver_profile__rating', 'driver_profile__is_active'], cols),
    );
    res = await post({ feature_service: 'driver_activity', entities: { driver_id: ids } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, responseText(['driver_id', 'conv_rate', 'avg_daily_trips', 'rating', 'is_active'], cols));
  });

  it('an unknown driver is NOT_FOUND', async () => {
    const res = await post({ features: ['driver_profile:rating'], entities: { driver_id: [9999] } });
    assert.equal(res.status, 200, res.text);
    assert.equal(
      res.text,
      responseText(['driver_id', 'rating'], [entityColumn(['9999']), featureColumn(['null'], 'NOT_FOUND', '1970-01-01T00:00:00Z')]),
    );
  });

  it('SIGTERM shuts the server down with exit code 0', async () => {
    const s = server!;
    s.child.kill('SIGTERM');
    const res = await withTimeout(s.exited, 30_000, 'platter serve after SIGTERM');
    assert.deepEqual(res, { code: 0, signal: null }, s.output());
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } }));
  });
});
