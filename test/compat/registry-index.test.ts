// Registries Feast itself wrote (../shared/feast-registry-fixtures, provenance in its SOURCES.txt)
// resolved into the serving index: join keys and their types (entity_columns, or the Entity's
// value_type in registries older than that field — Feast sdk/python/feast/feature_view.py
// `from_proto`), feature services with their projections, on-demand views, and project filtering
// (sdk/python/feast/infra/registry/proto_registry_utils.py filters every list by spec.project).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeRegistry } from '../../src/registry/sources/decode.js';
import { buildRegistryIndex } from '../../src/registry/registry-index.js';
import { ValueType } from '../../src/encoding/value-type.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/feast-registry-fixtures/', import.meta.url));

function load(t: TestContext, file: string, project: string) {
  const path = FIXTURES + file;
  if (!existsSync(path)) {
    t.skip(`${path} is absent: the Feast-written registry fixtures are not beside this checkout`);
    return null;
  }
  return buildRegistryIndex(decodeRegistry(readFileSync(path), path), project);
}

test('2022 Go test repo registry: no entity_columns, key type from the Entity', (t) => {
  const idx = load(t, 'go_test_repo_registry_2022.db', 'test_repo');
  if (!idx) return;
  const v = idx.views.get('driver_hourly_stats');
  assert.ok(v);
  assert.deepEqual(v.joinKeys, [{ name: 'driver_id', valueType: ValueType.INT64 }]);
  assert.deepEqual(
    v.features.map((f) => [f.name, f.valueType]),
    [
      ['conv_rate', ValueType.FLOAT],
      ['acc_rate', ValueType.FLOAT],
      ['avg_daily_trips', ValueType.INT64],
    ],
  );
  assert.equal(v.ttlSeconds, 86400);
  assert.equal(v.online, true);
});

test('Java serving registry (2024): 48 Athena-backed views, project named only in project_metadata', (t) => {
  const idx = load(t, 'java_serving_registry_2024.pb', 'ltr_mo');
  if (!idx) return;
  assert.equal(idx.views.size, 48);
  assert.equal(idx.services.size, 0);
  assert.ok(idx.projects.includes('ltr_mo'));
  for (const v of idx.views.values()) {
    assert.ok(v.joinKeys.length > 0, `${v.name} has join keys`);
    for (const jk of v.joinKeys) assert.notEqual(jk.valueType, ValueType.INVALID, `${v.name}.${jk.name} typed`);
  }
  const st = [...idx.views.values()].filter((v) => v.name.endsWith('_st'));
  assert.ok(st.length > 0);
  for (const v of st) assert.equal(v.ttlSeconds, 90000, v.name);
});

test('UI registry (2026): untyped entities typed by entity_columns; services and an on-demand view', (t) => {
  const idx = load(t, 'ui_registry.db', 'credit_scoring_aws');
  if (!idx) return;
  const zip = [...idx.views.values()].find((v) => v.joinKeys.some((j) => j.name === 'zipcode'));
  assert.ok(zip, 'a view keyed by zipcode');
  assert.equal(zip.joinKeys.find((j) => j.name === 'zipcode')!.valueType, ValueType.INT64);
  const ssn = [...idx.views.values()].find((v) => v.joinKeys.some((j) => j.name === 'dob_ssn'));
  assert.ok(ssn);
  assert.equal(ssn.joinKeys.find((j) => j.name === 'dob_ssn')!.valueType, ValueType.STRING);

  assert.deepEqual([...idx.services.keys()].sort(), [
    'credit_score_v1',
    'credit_score_v2',
    'credit_score_v3',
    'zipcode_model',
    'zipcode_model_v2',
  ]);
  for (const s of idx.services.values()) {
    for (const p of s.projections) {
      const v = idx.views.get(p.viewName);
      assert.ok(v, `${s.name} -> ${p.viewName}`);
      for (const f of p.features) assert.ok(v.featureByName.has(f), `${s.name}: ${p.viewName}:${f}`);
    }
  }
  const odfv = idx.views.get('transaction_gt_last_credit_card_due');
  assert.ok(odfv);
  assert.equal(odfv.kind, 'on_demand_feature_view');
  assert.equal(odfv.writeToOnlineStore, false);
});

test('a registry holds every project; the index keeps only the configured one', (t) => {
  const idx = load(t, 'ui_registry.db', 'some_other_project');
  if (!idx) return;
  assert.equal(idx.views.size, 0);
  assert.equal(idx.services.size, 0);
  assert.ok(idx.projects.includes('credit_scoring_aws'));
});
