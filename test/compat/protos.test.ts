// Our protos/ against what Feast actually writes: real registry files from Feast's repository
// (../shared/feast-registry-fixtures, see its SOURCES.txt) and byte strings worked out by hand
// from the field numbers in Feast's protos/feast/types/Value.proto.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { PROTO_FILES, protoRoot, protosDir, protoType } from '../../src/proto/root.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/feast-registry-fixtures/', import.meta.url));

// The parts of feast.core.Registry these tests look at, as protobufjs toObject renders them
// (snake_case names, enums as names, int64 as decimal strings, unset fields absent).
interface FeatureSpec { name: string; value_type?: string }
interface DataSource {
  name?: string;
  project?: string;
  type?: string;
  timestamp_field?: string;
  file_options?: { uri?: string };
  athena_options?: { table?: string; database?: string; data_source?: string };
  request_data_options?: { schema?: FeatureSpec[] };
}
interface Projection {
  feature_view_name: string;
  feature_view_name_alias?: string;
  feature_columns?: FeatureSpec[];
  join_key_map?: Record<string, string>;
  timestamp_field?: string;
}
interface FeatureView {
  spec: {
    name: string;
    project: string;
    entities?: string[];
    features?: FeatureSpec[];
    entity_columns?: FeatureSpec[];
    ttl?: { seconds?: string };
    batch_source?: DataSource;
  };
  meta: {
    materialization_intervals?: { start_time?: { seconds?: string }; end_time?: { seconds?: string } }[];
    current_version_number?: number;
  };
}
interface Registry {
  projects?: { spec: { name: string } }[];
  project_metadata?: { project: string; project_uuid: string }[];
  entities?: { spec: { name: string; project: string; join_key: string; value_type?: string } }[];
  feature_views?: FeatureView[];
  on_demand_feature_views?: {
    spec: {
      name: string;
      mode?: string;
      features?: FeatureSpec[];
      sources?: Record<string, { feature_view_projection?: Projection; request_data_source?: DataSource }>;
    };
  }[];
  feature_services?: { spec: { name: string; project: string; features?: Projection[] } }[];
  data_sources?: DataSource[];
  infra?: { infra_objects?: { infra_object_class_type: string; sqlite_table?: { name: string } }[] };
  feature_view_version_history?: {
    records: { feature_view_name: string; version_number: number; feature_view_type: string; feature_view_proto: Uint8Array }[];
  };
}

function fixtures(t: TestContext): boolean {
  if (existsSync(FIXTURES)) return true;
  t.skip(`${FIXTURES} absent`);
  return false;
}

function decodeRegistry(file: string): Registry {
  const type = protoType('feast.core.Registry');
  return type.toObject(type.decode(readFileSync(join(FIXTURES, file))), { longs: String, enums: String }) as Registry;
}

const names = (xs: { spec: { name: string } }[] | undefined) => (xs ?? []).map((x) => x.spec.name);
const typed = (fs: FeatureSpec[] | undefined) => (fs ?? []).map((f) => `${f.name}:${f.value_type ?? 'INVALID'}`);
const viewNamed = (r: Registry, name: string): FeatureView => {
  const fv = r.feature_views?.find((v) => v.spec.name === name);
  assert.ok(fv, `feature view ${name}`);
  return fv;
};

test('protos/ holds exactly PROTO_FILES, pinned to a Feast commit', () => {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.proto')) found.push(relative(protosDir(), p).split('\\').join('/'));
    }
  };
  walk(protosDir());
  assert.deepEqual(found.sort(), [...PROTO_FILES].sort());
  assert.match(readFileSync(join(protosDir(), 'VERSION'), 'utf8'), /^f0bc0700be7029166e6605e407de6d229cd1e93e\b/);
  // Everything resolves: lookups would throw on a dangling type reference.
  for (const name of ['feast.core.Registry', 'feast.types.EntityKey', 'feast.types.Field', 'feast.serving.GetOnlineFeaturesResponse']) {
    assert.equal(protoType(name).fullName, `.${name}`);
  }
  assert.ok(protoRoot().lookupService('feast.serving.ServingService').methods['GetOnlineFeatures']);
  assert.ok(protoRoot().lookupService('grpc.health.v1.Health').methods['Watch']);
});

test('every fixture registry decodes fully: re-encoding reproduces the file byte for byte', (t) => {
  if (!fixtures(t)) return;
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.db') || f.endsWith('.pb'));
  assert.ok(files.length >= 4, `registry files in ${FIXTURES}: ${files.join(', ')}`);
  const type = protoType('feast.core.Registry');
  for (const f of files) {
    const bytes = readFileSync(join(FIXTURES, f));
    // protobufjs drops unknown fields, so identical bytes mean no field went unrecognised.
    assert.ok(Buffer.from(type.encode(type.decode(bytes)).finish()).equals(bytes), f);
  }
});

test('go_test_repo_registry_2022.db: pre-0.22 registry without entity_columns', (t) => {
  if (!fixtures(t)) return;
  const r = decodeRegistry('go_test_repo_registry_2022.db');
  assert.equal(r.projects, undefined);
  assert.equal(r.project_metadata, undefined);
  assert.deepEqual(
    r.entities?.map((e) => [e.spec.project, e.spec.name, e.spec.join_key, e.spec.value_type]),
    [['test_repo', 'driver_id', 'driver_id', 'INT64'], ['test_repo', '__dummy', '__dummy_id', 'STRING']],
  );
  assert.deepEqual(names(r.feature_views), ['driver_hourly_stats']);
  const fv = viewNamed(r, 'driver_hourly_stats');
  assert.deepEqual(fv.spec.entities, ['driver_id']);
  assert.deepEqual(typed(fv.spec.features), ['conv_rate:FLOAT', 'acc_rate:FLOAT', 'avg_daily_trips:INT64']);
  // Join-key types must come from the Entity objects for registries this old.
  assert.equal(fv.spec.entity_columns, undefined);
  assert.equal(fv.spec.ttl?.seconds, '86400');
  assert.equal(fv.spec.batch_source?.type, 'BATCH_FILE');
  assert.equal(fv.spec.batch_source?.name, undefined); // data sources had no names yet
  assert.equal(fv.spec.batch_source?.file_options?.uri, 'data/driver_stats.parquet');
  assert.deepEqual(fv.meta.materialization_intervals, [
    { start_time: { seconds: '1609459200' }, end_time: { seconds: '1640995200' } }, // 2021-01-01 .. 2022-01-01
  ]);
  assert.equal(r.data_sources, undefined);
  assert.equal(r.feature_services, undefined);
});

test('java_serving_registry_2024.pb: one project in the deprecated project_metadata, Athena sources', (t) => {
  if (!fixtures(t)) return;
  const r = decodeRegistry('java_serving_registry_2024.pb');
  assert.equal(r.projects, undefined);
  assert.deepEqual(r.project_metadata, [{ project: 'ltr_mo', project_uuid: '4cee0867-46a7-4f95-8df8-184dd1421004' }]);
  assert.equal(r.entities?.length, 17);
  assert.ok(r.entities?.every((e) => e.spec.project === 'ltr_mo'));
  const dummy = r.entities?.find((e) => e.spec.name === '__dummy');
  assert.deepEqual(dummy?.spec, { name: '__dummy', join_key: '__dummy_id', project: 'ltr_mo' }); // value_type unset
  assert.equal(r.feature_views?.length, 48);
  assert.equal(r.data_sources?.length, 44); // some views share a source
  assert.equal(r.feature_services, undefined);
  assert.equal(r.on_demand_feature_views, undefined);
  assert.equal(r.infra, undefined);

  const st = viewNamed(r, 'mp_sp_ll_st');
  assert.deepEqual(st.spec.entities, ['sp_id', 'from_location_id', 'to_location_id']);
  assert.deepEqual(typed(st.spec.entity_columns), ['sp_id:INT32', 'from_location_id:STRING', 'to_location_id:STRING']);
  assert.deepEqual(typed(st.spec.features), ['search_click:INT32', 'call:INT32', 'call_duration:INT32', 'call_connected:INT32']);
  assert.equal(st.spec.ttl?.seconds, '90000');
  assert.deepEqual(st.spec.batch_source?.athena_options, { table: 'mp_sp_ll_st_v2', database: 'feature_store', data_source: 'awsdatacatalog' });
  // A ttl that is present but zero: no expiry.
  assert.deepEqual(viewNamed(r, 'mp_sp_dd_lt').spec.ttl, {});
  assert.deepEqual(typed(viewNamed(r, 'semantics_user').spec.features), ['vector:STRING']);
  assert.ok(r.feature_views?.every((v) => v.spec.batch_source?.type === 'BATCH_ATHENA' && v.spec.entity_columns?.length));
});

test('ui_registry.db: credit_scoring_aws with services, an on-demand view and version history', (t) => {
  if (!fixtures(t)) return;
  const r = decodeRegistry('ui_registry.db');
  assert.deepEqual(names(r.projects), ['credit_scoring_aws']);
  // Entities carry no value_type here; only entity_columns say zipcode is INT64.
  assert.deepEqual(typed(r.entities?.map((e) => e.spec)), ['__dummy:INVALID', 'zipcode:INVALID', 'dob_ssn:INVALID']);
  assert.deepEqual(names(r.feature_views), ['credit_history', 'zipcode_features', 'zipcode_money_features']);
  assert.deepEqual(typed(viewNamed(r, 'zipcode_features').spec.entity_columns), ['zipcode:INT64']);
  assert.deepEqual(typed(viewNamed(r, 'credit_history').spec.entity_columns), ['dob_ssn:STRING']);
  assert.deepEqual(typed(viewNamed(r, 'zipcode_money_features').spec.features), ['tax_returns_filed:INT64', 'total_wages:INT64']);

  const [odfv, ...moreOdfvs] = r.on_demand_feature_views ?? [];
  assert.equal(moreOdfvs.length, 0);
  assert.equal(odfv?.spec.name, 'transaction_gt_last_credit_card_due');
  assert.equal(odfv.spec.mode, 'pandas');
  assert.deepEqual(typed(odfv.spec.features), ['transaction_gt_last_credit_card_due:BOOL']);
  assert.equal(odfv.spec.sources?.['credit_history']?.feature_view_projection?.feature_view_name, 'credit_history');
  assert.deepEqual(typed(odfv.spec.sources?.['transaction']?.request_data_source?.request_data_options?.schema), ['transaction_amt:INT64']);

  assert.deepEqual(names(r.feature_services), ['credit_score_v2', 'zipcode_model', 'zipcode_model_v2', 'credit_score_v3', 'credit_score_v1']);
  const projections = r.feature_services?.flatMap((s) => s.spec.features ?? []) ?? [];
  assert.ok(projections.every((p) => p.feature_view_name_alias === undefined && p.join_key_map === undefined));
  const v1 = r.feature_services?.find((s) => s.spec.name === 'credit_score_v1');
  assert.deepEqual(
    v1?.spec.features?.map((p) => [p.feature_view_name, (p.feature_columns ?? []).map((c) => c.name)]),
    [['credit_history', ['credit_card_due', 'missed_payments_1y']], ['zipcode_features', ['city', 'state', 'location_type', 'tax_returns_filed', 'population', 'total_wages']]],
  );
  // Feast fills a projection's timestamp_field from the source's created_timestamp_column, so
  // the event timestamp column has to be read from the view's batch_source instead.
  assert.equal(v1?.spec.features?.[0]?.timestamp_field, 'created_timestamp');
  assert.equal(viewNamed(r, 'credit_history').spec.batch_source?.timestamp_field, 'event_timestamp');

  assert.deepEqual(r.data_sources?.map((d) => [d.name, d.type]), [['zipcode', 'BATCH_FILE'], ['transaction', 'REQUEST_SOURCE'], ['credit_history', 'BATCH_FILE']]);
  assert.deepEqual(r.infra?.infra_objects?.map((o) => o.sqlite_table?.name), [
    'credit_scoring_aws_credit_history',
    'credit_scoring_aws_zipcode_features',
    'credit_scoring_aws_zipcode_money_features',
  ]);

  const records = r.feature_view_version_history?.records ?? [];
  assert.deepEqual(records.map((x) => `${x.feature_view_name}@${x.version_number}`), [
    'credit_history@1', 'zipcode_features@1', 'zipcode_features@2',
    'zipcode_money_features@1', 'zipcode_money_features@2', 'zipcode_money_features@3',
  ]);
  const FeatureViewType = protoType('feast.core.FeatureView');
  for (const rec of records) {
    assert.equal(rec.feature_view_type, 'feature_view');
    const old = FeatureViewType.toObject(FeatureViewType.decode(rec.feature_view_proto)) as FeatureView;
    assert.equal(old.spec.name, rec.feature_view_name);
  }
  for (const fv of r.feature_views ?? []) {
    const latest = Math.max(...records.filter((x) => x.feature_view_name === fv.spec.name).map((x) => x.version_number));
    assert.equal(fv.meta.current_version_number, latest, fv.spec.name);
  }
});

test('ui_rag_registry.db is not what ui_rag_registry.json describes', (t) => {
  if (!fixtures(t)) return;
  // Feast's UI loads rag_registry.json (ui/public/projects-list.json); rag_registry.db is a
  // leftover copy of registry.db from before feature-view versioning, not the RAG project.
  const db = decodeRegistry('ui_rag_registry.db');
  const ui = decodeRegistry('ui_registry.db');
  for (const key of ['projects', 'entities', 'feature_views', 'on_demand_feature_views', 'feature_services'] as const) {
    assert.deepEqual(names(db[key]), names(ui[key]), key);
  }
  assert.equal(db.feature_view_version_history, undefined);
  assert.ok(db.feature_views?.every((v) => v.meta.current_version_number === undefined));

  const json = JSON.parse(readFileSync(join(FIXTURES, 'ui_rag_registry.json'), 'utf8')) as {
    projects: { spec: { name: string } }[];
    entities: { spec: { name: string } }[];
    featureViews: { spec: { name: string } }[];
  };
  assert.deepEqual(names(json.projects), ['rag_project']);
  assert.deepEqual(names(json.featureViews), ['rag_document_embeddings', 'rag_query_embeddings', 'rag_document_metadata']);
  assert.deepEqual(names(json.entities), ['document', 'query']);
  const dbNames = new Set([...names(db.projects), ...names(db.feature_views), ...names(db.entities)]);
  for (const n of [...names(json.projects), ...names(json.featureViews), ...names(json.entities)]) assert.ok(!dbNames.has(n), n);
});

test('protobufjs and @grpc/proto-loader agree on ServingService messages', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const pkg = loadSync([...PROTO_FILES], { includeDirs: [protosDir()], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
  await new Promise((resolve) => setImmediate(resolve)); // proto-loader's "not found in include paths" warnings arrive on nextTick
  process.off('warning', onWarning);
  assert.deepEqual(warnings.map((w) => w.message), []);
  assert.ok(pkg['grpc.health.v1.Health']);
  const serving = pkg['feast.serving.ServingService'] as ServiceDefinition;
  const getOnline = serving['GetOnlineFeatures'];
  assert.ok(getOnline);
  assert.equal(getOnline.path, '/feast.serving.ServingService/GetOnlineFeatures');

  const Req = protoType('feast.serving.GetOnlineFeaturesRequest');
  const request = {
    features: { val: ['driver_hourly_stats:conv_rate', 'driver_hourly_stats:avg_daily_trips'] },
    entities: { driver_id: { val: [{ int64_val: '1001' }, { int64_val: '9007199254740993' }, { null_val: 'NULL' }] } },
    full_feature_names: true,
    request_context: { val_to_add: { val: [{ double_val: 1.5 }, { string_list_val: { val: ['a', 'b'] } }] } },
  };
  const bytes = Buffer.from(Req.encode(Req.fromObject(request)).finish());
  // oneofs: true names the chosen member of each oneof (kind, and Value's val).
  assert.deepEqual(getOnline.requestDeserialize(bytes), {
    kind: 'features',
    features: request.features,
    entities: {
      driver_id: {
        val: [
          { int64_val: '1001', val: 'int64_val' },
          { int64_val: '9007199254740993', val: 'int64_val' }, // 2^53 + 1 survives as a string
          { null_val: 'NULL', val: 'null_val' },
        ],
      },
    },
    full_feature_names: true,
    request_context: {
      val_to_add: { val: [{ double_val: 1.5, val: 'double_val' }, { string_list_val: { val: ['a', 'b'] }, val: 'string_list_val' }] },
    },
  });

  // And back: proto-loader serialises a response, our Root reads it.
  const response = {
    metadata: { feature_names: { val: ['driver_id', 'conv_rate'] } },
    results: [
      { values: [{ int64_val: '1001' }], statuses: ['PRESENT'], event_timestamps: [{ seconds: '0', nanos: 0 }] },
      { values: [{ float_val: 0.5 }], statuses: ['PRESENT'], event_timestamps: [{ seconds: '1704067200', nanos: 500000000 }] },
    ],
  };
  const Resp = protoType('feast.serving.GetOnlineFeaturesResponse');
  const decoded = Resp.toObject(Resp.decode(getOnline.responseSerialize(response)), { longs: String, enums: String, oneofs: true });
  assert.deepEqual(decoded, {
    metadata: response.metadata,
    results: [
      // protobufjs (under proto-loader too) writes explicitly set zero scalars instead of
      // omitting them as protoc-generated code does: valid protobuf, but not byte-minimal.
      { values: [{ int64_val: '1001', val: 'int64_val' }], statuses: ['PRESENT'], event_timestamps: [{ seconds: '0', nanos: 0 }] },
      { values: [{ float_val: 0.5, val: 'float_val' }], statuses: ['PRESENT'], event_timestamps: [{ seconds: '1704067200', nanos: 500000000 }] },
    ],
  });
});

// Field numbers from Feast's protos/feast/types/Value.proto: int64_val = 4 (varint, tag 0x20),
// double_list_val = 15 (length-delimited, tag 0x7a) holding DoubleList.val = 1 (packed doubles),
// null_val = 19 (varint, tag 0x98 0x01). Timestamp is google/protobuf/timestamp.proto:
// seconds = 1 (tag 0x08), nanos = 2 (tag 0x10).
test('hand-written bytes from Feast field numbers decode and re-encode identically', () => {
  const Value = protoType('feast.types.Value');
  const Timestamp = protoType('google.protobuf.Timestamp');
  const cases: [protobuf.Type, string, Record<string, unknown>][] = [
    [Value, '202a', { int64_val: '42', val: 'int64_val' }],
    [Value, '7a120a10000000000000f03f0000000000000040', { double_list_val: { val: [1, 2] }, val: 'double_list_val' }],
    [Value, '980100', { null_val: 'NULL', val: 'null_val' }], // NULL is 0 yet present: oneof members keep presence
    [Timestamp, '088081c8ac061080cab5ee01', { seconds: '1704067200', nanos: 500000000 }], // 2024-01-01T00:00:00.5Z
  ];
  for (const [type, hex, expected] of cases) {
    const message = type.decode(Buffer.from(hex, 'hex'));
    assert.deepEqual(type.toObject(message, { longs: String, enums: String, oneofs: true }), expected, hex);
    assert.equal(Buffer.from(type.encode(type.fromObject(expected)).finish()).toString('hex'), hex);
  }
});

test('int64 fields decode to Long objects, not numbers', () => {
  const Value = protoType('feast.types.Value');
  const { int64_val } = Value.decode(Buffer.from('20ffffffffffffffff7f', 'hex')) as unknown as { int64_val: unknown };
  assert.ok(int64_val instanceof protobuf.util.Long);
  assert.equal(String(int64_val), '9223372036854775807'); // beyond 2^53: a number would have lost it
});
