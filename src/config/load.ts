/**
 * feature_store.yaml -> frozen RepoConfig, once, at startup. Mirrors Feast's
 * `repo_config.py::load_repo_config`: `os.path.expandvars` over the raw text, then a YAML 1.1
 * parse (PyYAML), then validation. Unknown keys are ignored; a bad value of a key Platter uses
 * is a CONFIG_INVALID error naming the file, the dotted key, the value and the accepted forms.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, type ScalarTag, type Tags } from 'yaml';
import { PlatterError } from '../errors.js';
import {
  DEFAULTS,
  OFFLINE_STORE_TYPES,
  ONLINE_STORE_TYPES,
  ONLINE_STORE_TYPE_FOR_CLASS,
  REGISTRY_SCHEME_FOR_STORE_TYPE,
  REGISTRY_TYPES,
  type FeatureLoggingConfig,
  type FeatureServerConfig,
  type OfflineStoreConfig,
  type OnlineStoreConfig,
  type PlatterSettings,
  type RedisConnection,
  type RedisHost,
  type RedisOnlineStoreConfig,
  type RedisType,
  type RegistryCacheMode,
  type RegistryConfig,
  type RegistryScheme,
  type RepoConfig,
  type SqlConnection,
} from './repo-config.js';

export interface LoadRepoConfigOptions {
  /** Variables for `$VAR` / `${VAR}` substitution. @default process.env */
  env?: Record<string, string | undefined>;
  /** The YAML file, relative to the repo directory unless absolute. @default 'feature_store.yaml' */
  file?: string;
}

type Mapping = Record<string, unknown>;

/**
 * Reads, substitutes, parses, validates and deep-freezes `<repoDir>/feature_store.yaml`.
 * Throws PlatterError CONFIG_INVALID on a missing file, bad YAML or a bad value.
 */
export function loadRepoConfig(repoDir: string, opts: LoadRepoConfigOptions = {}): RepoConfig {
  const repoPath = resolve(repoDir);
  const configPath = resolve(repoPath, opts.file ?? 'feature_store.yaml');
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(code ?? e);
    throw new PlatterError(
      'CONFIG_INVALID',
      `cannot read ${configPath} (${why}); pass --repo <dir> pointing at your Feast feature repo, the folder that holds feature_store.yaml`,
      { cause: e },
    );
  }
  return parseRepoConfig(text, { repoPath, configPath, env: opts.env ?? process.env });
}

/**
 * The same as `loadRepoConfig` for YAML text already in hand (`configPath` is only used in
 * messages). Exposed for tests and for callers that embed a config.
 */
export function parseRepoConfig(
  text: string,
  where: { repoPath: string; configPath: string; env?: Record<string, string | undefined> },
): RepoConfig {
  const r = new Reader(where.configPath);
  const expanded = expandEnvVars(text.replace(/^\uFEFF/, ''), where.env ?? process.env);
  const doc = parseFeastYaml(expanded.text, where.configPath);
  warnUnsetVars(r, expanded.unset, doc);
  if (!isMapping(doc)) {
    throw new PlatterError(
      'CONFIG_INVALID',
      `${where.configPath}: the file must be a YAML mapping with at least \`project\` and \`registry\`; got ${show(doc)}`,
    );
  }
  const cfg = readRepoConfig(r, doc, resolve(where.repoPath), where.configPath);
  return deepFreeze(cfg);
}

// ---------------------------------------------------------------------------------------------
// Environment substitution

// Python's posixpath.expandvars: `_varprog = re.compile(r'\$(\w+|\{[^}]*\})', re.ASCII)`.
// JS `\w` without the `u` flag is ASCII, like re.ASCII.
const VAR_RE = /\$(\w+|\{[^}]*\})/g;

/**
 * `os.path.expandvars` over raw text: `$NAME` and `${NAME}` are replaced by the variable's
 * value; an unset variable is left verbatim (Feast's Python loader; Go's os.ExpandEnv would
 * blank it). Substituted text is not expanded again. `unset` lists each reference left as is.
 */
export function expandEnvVars(
  text: string,
  env: Record<string, string | undefined>,
): { text: string; unset: readonly { token: string; name: string }[] } {
  const unset: { token: string; name: string }[] = [];
  const out = text.replace(VAR_RE, (token: string, group: string) => {
    const name = group.startsWith('{') ? group.slice(1, -1) : group;
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (value === undefined) {
      unset.push({ token, name });
      return token;
    }
    return value;
  });
  return { text: out, unset };
}

/**
 * One warning per unset variable that reaches a parsed key or value. Feast expands comments too,
 * but a reference that survives only in a comment changes nothing, so it gets no warning.
 */
function warnUnsetVars(r: Reader, unset: readonly { token: string; name: string }[], doc: unknown): void {
  if (unset.length === 0) return;
  const strings: string[] = [];
  collectStrings(doc, strings);
  const seen = new Set<string>();
  for (const { token, name } of unset) {
    if (seen.has(name) || !strings.some((s) => s.includes(token))) continue;
    seen.add(name);
    r.warn(`${token} is not set in the environment and is left as is (as Feast's os.path.expandvars does); set ${name || 'the variable'} or remove the reference`);
  }
}

function collectStrings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (isMapping(v)) {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      collectStrings(x, out);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// YAML

/**
 * Feast parses with PyYAML's `safe_load`, which implements YAML 1.1: `yes/no/on/off` are
 * booleans, `0o17` is a string, `010` is octal, `1e3` (no dot) is a string. A YAML 1.2 parse
 * would turn `enable_online_feature_view_versioning: yes` into the string "yes" (which Feast's
 * StrictBool never sees, since PyYAML hands it True) and reject a file Feast accepts. So we
 * parse as YAML 1.1 and narrow eemeli/yaml's 1.1 tags to PyYAML's resolver regexes
 * (yaml/resolver.py) where they differ: PyYAML has no `y`/`n` booleans, no `09` decimals,
 * and needs a dot in a float. Duplicate keys: PyYAML keeps the last, so we do too.
 */
const PYYAML_BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PYYAML_BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const PYYAML_INT_DEC = /^[-+]?(?:0|[1-9][0-9_]*)$/;
const PYYAML_INT_SEXAGESIMAL = /^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$/;
const PYYAML_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)$/;
const PYYAML_FLOAT_EXP = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*[eE][-+][0-9]+|\.[0-9][0-9_]*[eE][-+][0-9]+)$/;

function pyyamlTags(tags: Tags): Tags {
  return tags.map((t) => {
    if (typeof t === 'string' || !('test' in t) || !t.test) return t;
    const s = t as ScalarTag;
    const is = (tag: string, format?: string): boolean => s.tag === tag && s.format === format;
    if (s.tag === 'tag:yaml.org,2002:bool') {
      return { ...s, test: s.test!.test('true') ? PYYAML_BOOL_TRUE : PYYAML_BOOL_FALSE };
    }
    if (is('tag:yaml.org,2002:int')) return { ...s, test: PYYAML_INT_DEC };
    if (is('tag:yaml.org,2002:int', 'TIME')) return { ...s, test: PYYAML_INT_SEXAGESIMAL };
    if (is('tag:yaml.org,2002:float') && !s.test!.test('.inf')) return { ...s, test: PYYAML_FLOAT };
    if (is('tag:yaml.org,2002:float', 'EXP')) return { ...s, test: PYYAML_FLOAT_EXP };
    return t;
  });
}

function parseFeastYaml(text: string, configPath: string): unknown {
  try {
    return parseYaml(text, { version: '1.1', customTags: pyyamlTags, uniqueKeys: false, merge: true });
  } catch (e) {
    throw new PlatterError('CONFIG_INVALID', `${configPath}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
}

// ---------------------------------------------------------------------------------------------
// Validation helpers

class Reader {
  readonly warnings: string[] = [];
  constructor(readonly file: string) {}

  /** Throws CONFIG_INVALID: `<file>: \`key\` is <value>; expected <accepted>`. */
  invalid(key: string, value: unknown, expected: string, shown?: string): never {
    throw new PlatterError('CONFIG_INVALID', `${this.file}: \`${key}\` is ${shown ?? show(value)}; expected ${expected}`);
  }

  warn(message: string): void {
    this.warnings.push(`${this.file}: ${message}`);
  }

  /** Warns about keys of a section we interpret that Feast does not know either (likely typos). */
  unknownKeys(m: Mapping, at: string, known: readonly string[], what: string): void {
    for (const k of Object.keys(m)) {
      if (known.includes(k)) continue;
      const near = didYouMean(k, known);
      this.warn(`\`${at}.${k}\` is not a ${what} key and is ignored${near ? `; did you mean \`${at}.${near}\`?` : ''}`);
    }
  }

  string(v: unknown, key: string, expected = 'a string'): string {
    if (typeof v !== 'string') this.invalid(key, v, expected);
    return v;
  }

  /** pydantic StrictInt: an integer, never a bool or a float. */
  int(v: unknown, key: string, expected: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.invalid(key, v, expected);
    return v;
  }

  /** pydantic StrictBool: true or false only (YAML 1.1 `yes`/`on` already are booleans). */
  bool(v: unknown, key: string): boolean {
    if (typeof v !== 'boolean') this.invalid(key, v, 'true or false');
    return v;
  }

  /** pydantic's lax `bool`: booleans, 0/1 and the strings it accepts (yes/no, on/off, t/f, y/n, 1/0). */
  laxBool(v: unknown, key: string): boolean {
    if (typeof v === 'boolean') return v;
    if (v === 0 || v === 1) return v === 1;
    if (typeof v === 'string') {
      const s = v.trim().toLowerCase();
      if (['1', 'on', 't', 'true', 'y', 'yes'].includes(s)) return true;
      if (['0', 'off', 'f', 'false', 'n', 'no'].includes(s)) return false;
    }
    return this.invalid(key, v, 'true or false');
  }

  mapping(v: unknown, key: string, expected = 'a mapping'): Mapping {
    if (!isMapping(v)) this.invalid(key, v, expected);
    return v;
  }
}

function isMapping(v: unknown): v is Mapping {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A value for a message: strings quoted, long ones cut, mappings and lists summarised. */
function show(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'string') return cut(JSON.stringify(v));
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return `the date ${v.toISOString()}`;
  if (Array.isArray(v)) return `a list ${cut(safeJson(v))}`;
  if (isMapping(v)) return `a mapping ${cut(safeJson(v))}`;
  return cut(String(v));
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function cut(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function has(m: Mapping, key: string): boolean {
  return Object.hasOwn(m, key) && m[key] !== undefined;
}

function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Reflect.ownKeys(v)) deepFreeze((v as Record<PropertyKey, unknown>)[k]);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Top level

/** `RepoConfig` fields and aliases in repo_config.py, plus our `platter`: used to spot typos. */
const TOP_LEVEL_KEYS = [
  'project', 'project_description', 'provider', 'registry', 'online_store', 'auth', 'offline_store',
  'batch_engine', 'feature_server', 'embedding_model', 'flags', 'repo_path',
  'entity_key_serialization_version', 'coerce_tz_aware', 'materialization', 'openlineage', 'mlflow',
  'data_quality_monitoring', 'platter',
] as const;

function readRepoConfig(r: Reader, doc: Mapping, repoPath: string, configPath: string): RepoConfig {
  for (const k of Object.keys(doc)) {
    if ((TOP_LEVEL_KEYS as readonly string[]).includes(k)) continue;
    // Feast allows extra top-level keys (FeastBaseModel extra="allow"); only near-misses of the
    // keys we read are worth a word, because they would otherwise silently fall back to defaults.
    const near = didYouMean(k, TOP_LEVEL_KEYS);
    if (near !== undefined && !has(doc, near)) r.warn(`\`${k}\` is not a Feast key and is ignored; did you mean \`${near}\`?`);
  }

  const onlineStore = readOnlineStore(r, doc, repoPath);
  const project = readProject(r, doc, onlineStore);
  const provider = has(doc, 'provider') ? r.string(doc['provider'], 'provider', 'a string such as local, gcp or aws') : DEFAULTS.provider;
  const registry = readRegistry(r, doc, repoPath);
  const offlineStore = readOfflineStore(r, doc);
  const entityKeySerializationVersion = readEntityKeyVersion(r, doc);
  const featureServer = readFeatureServer(r, doc);
  const platter = readPlatter(r, doc);

  if (has(doc, 'flags') && doc['flags'] !== null) {
    // repo_config.py `_validate_flags` logs the same.
    r.warn('`flags` is no longer used by Feast (experimental features log warnings instead) and is ignored');
  }

  return {
    repoPath,
    configPath,
    project,
    provider,
    registry,
    onlineStore,
    offlineStore,
    entityKeySerializationVersion,
    featureServer,
    platter,
    warnings: r.warnings,
  };
}

// Python `re.compile(r"[^\w-]+")` on str is Unicode-aware: \w = str.isalnum() + '_'.
const PROJECT_NAME_RE = /^[\p{L}\p{N}_-]+$/u;

/**
 * repo_config.py `_validate_project_name` + repo_operations.py `is_valid_name`: alphanumerics,
 * `_` and `-`, not starting with `_` or `-`; no `-` with a SQLite online store (table names).
 */
function readProject(r: Reader, doc: Mapping, onlineStore: OnlineStoreConfig | null): string {
  const expected = 'a project name of letters, digits, underscores and hyphens, not starting with `_` or `-` (e.g. my_project)';
  if (!has(doc, 'project')) r.invalid('project', undefined, expected);
  const project = r.string(doc['project'], 'project', expected);
  if (project === '' || !PROJECT_NAME_RE.test(project) || project.startsWith('_') || project.startsWith('-')) {
    r.invalid('project', project, expected);
  }
  // Feast means "SQLite or no online store config": as read at HEAD its validator never sees
  // online_store (pydantic's info.data is empty for the first field), so it rejects every
  // hyphen. Older Feast accepted hyphens with Redis and such data exists, so we keep the intent.
  if (project.includes('-') && onlineStore?.type === 'sqlite') {
    r.invalid('project', project, 'no hyphens with a SQLite online store, because Feast uses the project in SQLite table names (use underscores)');
  }
  return project;
}

function readEntityKeyVersion(r: Reader, doc: Mapping): 1 | 2 | 3 {
  if (!has(doc, 'entity_key_serialization_version')) return DEFAULTS.entityKeySerializationVersion;
  const v = doc['entity_key_serialization_version'];
  const expected = '3 (Feast\'s default), or 2 or 1 for online stores written by older Feast versions';
  if (v !== 1 && v !== 2 && v !== 3) r.invalid('entity_key_serialization_version', v, expected);
  if (v < 3) {
    // repo_config.py warns the same (DeprecationWarning) for versions below 3.
    r.warn(`\`entity_key_serialization_version: ${v}\` is deprecated by Feast; version 3 is recommended (entity keys must be re-serialized to switch)`);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Registry

const REGISTRY_BASE_KEYS = [
  'registry_type', 'registry_store_type', 'path', 'cache_ttl_seconds', 'cache_mode',
  's3_additional_kwargs', 'purge_feast_metadata', 'enable_online_feature_view_versioning', 'mcp',
];
/** sql.py `SqlRegistryConfig`. */
const SQL_REGISTRY_KEYS = ['read_path', 'sqlalchemy_config_kwargs', 'thread_pool_executor_worker_count', 'schema_mode'];
/** remote.py `RemoteRegistryConfig`. */
const REMOTE_REGISTRY_KEYS = ['cert', 'is_tls', 'client_cert', 'client_key', 'authority'];

function readRegistry(r: Reader, doc: Mapping, repoPath: string): RegistryConfig {
  const formsExpected = 'a registry path such as data/registry.db, or a mapping with `registry_type` (file, sql, remote) and `path`';
  // repo_config.py RepoConfig.__init__ raises FeastRegistryNotSetError when `registry` is absent.
  if (!has(doc, 'registry')) r.invalid('registry', undefined, formsExpected);
  const value = doc['registry'];
  let m: Mapping;
  if (typeof value === 'string') m = { path: value };
  else if (isMapping(value)) m = value;
  else return r.invalid('registry', value, formsExpected);
  const raw = m;
  const at = typeof value === 'string' ? 'registry' : 'registry.path';

  const registryType = has(m, 'registry_type') ? r.string(m['registry_type'], 'registry.registry_type', 'one of file, sql, remote') : DEFAULTS.registry.registryType;
  if (!REGISTRY_TYPES.has(registryType)) {
    // repo_config.py get_registry_config_from_type raises FeastRegistryTypeInvalidError.
    const near = didYouMean(registryType, [...REGISTRY_TYPES]);
    r.invalid('registry.registry_type', registryType, `one of ${[...REGISTRY_TYPES].join(', ')}${near ? ` (did you mean ${near}?)` : ''}`);
  }

  const pathExpected =
    registryType === 'sql' ? 'a database URL such as postgresql+psycopg://user:password@host:5432/feast'
    : registryType === 'remote' ? 'the registry server address, host:port'
    : 'a path to the registry file, such as data/registry.db or s3://bucket/registry.db';
  const path = has(m, 'path') ? r.string(m['path'], at, pathExpected) : '';
  if (path === '') r.invalid(at, has(m, 'path') ? path : undefined, pathExpected);

  let cacheTtlSeconds: number = DEFAULTS.registry.cacheTtlSeconds;
  if (has(m, 'cache_ttl_seconds')) {
    cacheTtlSeconds = r.int(m['cache_ttl_seconds'], 'registry.cache_ttl_seconds', 'a whole number of seconds >= 0 (0 = load once and never refresh)');
    // Feast treats a negative TTL like 0 (never expires); a negative number is a mistake, so say so.
    if (cacheTtlSeconds < 0) r.invalid('registry.cache_ttl_seconds', cacheTtlSeconds, 'a whole number of seconds >= 0 (0 = load once and never refresh)');
  }

  let cacheMode: RegistryCacheMode = DEFAULTS.registry.cacheMode;
  if (has(m, 'cache_mode')) {
    const mode = r.string(m['cache_mode'], 'registry.cache_mode', 'sync or thread');
    if (mode === 'sync' || mode === 'thread') cacheMode = mode;
    // Feast compares `cache_mode == "thread"` and treats anything else as sync.
    else r.warn(`\`registry.cache_mode\` is ${show(mode)}, which Feast treats as sync; expected sync or thread`);
  }

  const enableOnlineFeatureViewVersioning = has(m, 'enable_online_feature_view_versioning')
    ? r.bool(m['enable_online_feature_view_versioning'], 'registry.enable_online_feature_view_versioning')
    : DEFAULTS.registry.enableOnlineFeatureViewVersioning;

  const base = { path, cacheTtlSeconds, cacheMode, enableOnlineFeatureViewVersioning, raw };

  if (registryType === 'sql') {
    if (typeof value !== 'string') r.unknownKeys(m, 'registry', [...REGISTRY_BASE_KEYS, ...SQL_REGISTRY_KEYS], 'SQL registry');
    const connection = parseSqlUrlOrFail(r, path, at);
    let readPath: string | undefined;
    let readConnection: SqlConnection | undefined;
    if (has(m, 'read_path') && m['read_path'] !== null) {
      readPath = r.string(m['read_path'], 'registry.read_path', 'a database URL, or null to read from `path`');
      readConnection = parseSqlUrlOrFail(r, readPath, 'registry.read_path');
    }
    const sqlalchemyConfigKwargs = has(m, 'sqlalchemy_config_kwargs')
      ? r.mapping(m['sqlalchemy_config_kwargs'], 'registry.sqlalchemy_config_kwargs')
      : { ...DEFAULTS.registry.sqlalchemyConfigKwargs };
    let schemaMode: 'auto' | 'verify' | 'skip' = DEFAULTS.registry.schemaMode;
    if (has(m, 'schema_mode')) {
      const s = m['schema_mode'];
      if (s !== 'auto' && s !== 'verify' && s !== 'skip') r.invalid('registry.schema_mode', s, 'auto, verify or skip');
      schemaMode = s;
    }
    return {
      registryType: 'sql',
      ...base,
      connection,
      ...(readPath !== undefined ? { readPath } : {}),
      ...(readConnection !== undefined ? { readConnection } : {}),
      sqlalchemyConfigKwargs,
      schemaMode,
    };
  }

  if (registryType === 'remote') {
    if (typeof value !== 'string') r.unknownKeys(m, 'registry', [...REGISTRY_BASE_KEYS, ...REMOTE_REGISTRY_KEYS], 'remote registry');
    const isTls = has(m, 'is_tls') ? r.laxBool(m['is_tls'], 'registry.is_tls') : DEFAULTS.registry.isTls;
    const cert = has(m, 'cert') ? r.string(m['cert'], 'registry.cert', 'a path to the server certificate') : DEFAULTS.registry.cert;
    return { registryType: 'remote', ...base, isTls, cert };
  }

  if (registryType !== 'file') return { registryType: 'unsupported', name: registryType, ...base };

  if (typeof value !== 'string') {
    r.unknownKeys(m, 'registry', REGISTRY_BASE_KEYS, 'file registry');
  }
  let registryStoreType: string | undefined;
  if (has(m, 'registry_store_type') && m['registry_store_type'] !== null) {
    registryStoreType = r.string(m['registry_store_type'], 'registry.registry_store_type', 'a registry store class such as S3RegistryStore');
  }
  const { scheme, localPath } = registryLocation(r, path, at, registryStoreType, repoPath);
  return {
    registryType: 'file',
    ...base,
    scheme,
    ...(localPath !== undefined ? { localPath } : {}),
    ...(registryStoreType !== undefined ? { registryStoreType } : {}),
  };
}

/**
 * Where a file registry lives: `registry_store_type` when set, else the path's URL scheme, as
 * infra/registry/registry.py `get_registry_store_class_from_scheme` decides (no scheme, `file`
 * or a Windows drive letter is local; `s3`, `gs`, `hdfs`; anything else is an error there).
 * A relative local path resolves against the repo (infra/registry/file.py FileRegistryStore).
 */
function registryLocation(
  r: Reader,
  path: string,
  at: string,
  registryStoreType: string | undefined,
  repoPath: string,
): { scheme: RegistryScheme; localPath?: string } {
  let scheme: RegistryScheme;
  const urlScheme = pythonUrlScheme(path);
  if (registryStoreType !== undefined) {
    const known = REGISTRY_SCHEME_FOR_STORE_TYPE[registryStoreType];
    if (known === undefined && !registryStoreType.endsWith('RegistryStore')) {
      r.invalid('registry.registry_store_type', registryStoreType, 'a class name ending in RegistryStore, such as S3RegistryStore, GCSRegistryStore, AzureRegistryStore or FileRegistryStore');
    }
    scheme = known ?? 'custom';
  } else if (urlScheme === '' || urlScheme === 'file' || (urlScheme.length === 1 && /^.:[\\/]/.test(path))) {
    scheme = 'local';
  } else if (urlScheme === 's3' || urlScheme === 'gs' || urlScheme === 'hdfs') {
    scheme = urlScheme;
  } else {
    const sqlHint = /^(postgres|mysql|sqlite|mssql|oracle)/.test(urlScheme)
      ? '; for a SQL registry write `registry: {registry_type: sql, path: ...}`'
      : '';
    return r.invalid(at, path, `a local path or an s3://, gs:// or hdfs:// URL (Feast supports no other scheme for a file registry; Azure needs registry_store_type: AzureRegistryStore)${sqlHint}`);
  }
  if (scheme !== 'local') return { scheme };

  if (urlScheme === 'file') {
    // Feast's FileRegistryStore passes the path to pathlib unchanged, so both Python and Go
    // read `file:///a/b.db` as the relative path `<repo>/file:/a/b.db`. We take the URL's meaning.
    let localPath: string;
    if (path.startsWith('file://')) {
      try {
        localPath = fileURLToPath(path);
      } catch (e) {
        return r.invalid(at, path, `a file:// URL with an absolute path (file:///path/to/registry.db): ${(e as Error).message}`);
      }
    } else {
      localPath = resolve(repoPath, path.slice('file:'.length));
    }
    r.warn(`\`${at}\` is a file: URL; Platter reads ${localPath}, while Feast reads the path literally (relative to the repo); prefer a plain path`);
    return { scheme, localPath };
  }
  return { scheme, localPath: resolve(repoPath, path) };
}

/** Python `urllib.parse.urlsplit(...).scheme`: ASCII letter first, then letters, digits, + - . */
function pythonUrlScheme(path: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(path);
  return m ? m[1]!.toLowerCase() : '';
}

// SQLAlchemy's `_parse_url` pattern (sqlalchemy/engine/url.py), the reader of Feast's SQL registry
// path; the password runs to the first `@`, so it may hold `:`, `/` or `?` unencoded.
const SQLALCHEMY_URL_RE =
  /^(?<name>[\w+]+):\/\/(?:(?<username>[^:/]*)(?::(?<password>[^@]*))?@)?(?:(?:\[(?<ipv6host>[^/?]+)\]|(?<ipv4host>[^/:?]+))?(?::(?<port>[^/?]*))?)?(?:\/(?<database>[^?]*))?(?:\?(?<query>.*))?/;

/**
 * Reads a SQLAlchemy database URL (`dialect[+driver]://user:password@host:port/database?k=v`)
 * the way `sqlalchemy.engine.url.make_url` does: username, password and database are
 * percent-decoded, query values `+`/percent-decoded, blank query values dropped, a repeated
 * key becomes a list. Throws CONFIG_INVALID naming `key`.
 */
export function parseSqlUrl(url: string, key = 'registry.path'): SqlConnection {
  const m = SQLALCHEMY_URL_RE.exec(url);
  const g = m?.groups;
  const expected = 'a database URL such as postgresql+psycopg://user:password@host:5432/feast';
  if (!g) throw new PlatterError('CONFIG_INVALID', `\`${key}\` is ${show(redactUrl(url))}; expected ${expected}`);
  const scheme = g['name']!;
  const plus = scheme.indexOf('+');
  const driver = (plus === -1 ? scheme : scheme.slice(0, plus)).toLowerCase();
  const dbapi = plus === -1 ? undefined : scheme.slice(plus + 1);
  let port: number | undefined;
  if (g['port']) {
    if (!/^\d+$/.test(g['port']) || Number(g['port']) > 65535) {
      throw new PlatterError('CONFIG_INVALID', `\`${key}\` has port ${show(g['port'])} in ${show(redactUrl(url))}; expected a port number (${expected})`);
    }
    port = Number(g['port']);
  }
  const params: Record<string, string | string[]> = {};
  if (g['query'] !== undefined) {
    for (const pair of g['query'].split('&')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue; // parse_qsl drops a field without '=' (keep_blank_values=False)
      const k = pyUnquote(pair.slice(0, eq), true);
      const v = pyUnquote(pair.slice(eq + 1), true);
      if (v === '') continue; // ...and one with a blank value
      const prev = params[k];
      params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  }
  const sslmode = params['sslmode'];
  const host = g['ipv4host'] || g['ipv6host'];
  return {
    scheme,
    driver,
    ...(dbapi !== undefined ? { dbapi } : {}),
    ...(g['username'] !== undefined ? { user: pyUnquote(g['username']) } : {}),
    ...(g['password'] !== undefined ? { password: pyUnquote(g['password']) } : {}),
    ...(host ? { host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(g['database'] !== undefined ? { database: pyUnquote(g['database']) } : {}),
    ...(sslmode !== undefined ? { sslmode: typeof sslmode === 'string' ? sslmode : sslmode[sslmode.length - 1]! } : {}),
    params,
  };
}

function parseSqlUrlOrFail(r: Reader, url: string, key: string): SqlConnection {
  try {
    return parseSqlUrl(url, key);
  } catch (e) {
    throw new PlatterError('CONFIG_INVALID', `${r.file}: ${(e as Error).message}`, { cause: e });
  }
}

/** Python's `urllib.parse.unquote` (`unquote_plus` with plus): UTF-8, invalid bytes -> U+FFFD. */
function pyUnquote(s: string, plus = false): string {
  const t = plus ? s.replace(/\+/g, ' ') : s;
  if (!t.includes('%')) return t;
  const decoder = new TextDecoder();
  return t.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
    decoder.decode(Uint8Array.from(run.slice(1).split('%'), (h) => parseInt(h, 16))),
  );
}

/** A URL with its password replaced by `***`, for messages. */
function redactUrl(url: string): string {
  return url.replace(/^([\w+]+:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

// ---------------------------------------------------------------------------------------------
// Online store

const REDIS_KEYS = [
  'type', 'redis_type', 'sentinel_master', 'connection_string', 'key_ttl_seconds',
  'full_scan_for_deletion', 'skip_dedup',
];
const SQLITE_KEYS = [
  'type', 'path', 'text_search_enabled', 'enable_openai_compatible_store', 'vector_enabled',
  'vector_len', 'similarity',
];

/**
 * repo_config.py `_validate_online_store_config` and the `online_store` property: absent -> the
 * SQLite default; null or the strings "None"/"null" -> no online store; a string -> that type
 * with its defaults; a mapping without `type` -> SQLite.
 */
function readOnlineStore(r: Reader, doc: Mapping, repoPath: string): OnlineStoreConfig | null {
  const expected = 'a mapping with `type` (e.g. redis or sqlite), a type name, or null for no online store';
  let m: Mapping;
  if (!has(doc, 'online_store')) m = {};
  else {
    const v = doc['online_store'];
    if (v === null) return null;
    if (typeof v === 'string') {
      if (v.toLowerCase() === 'none' || v.toLowerCase() === 'null') return null;
      m = { type: v };
    } else if (isMapping(v)) m = v;
    else return r.invalid('online_store', v, expected);
  }

  const written = has(m, 'type') ? r.string(m['type'], 'online_store.type', 'an online store type such as redis or sqlite') : DEFAULTS.onlineStore.type;
  const type = ONLINE_STORE_TYPE_FOR_CLASS[written] ?? written;
  if (type === 'redis') return readRedis(r, m);
  if (type === 'sqlite') {
    r.unknownKeys(m, 'online_store', SQLITE_KEYS, 'SQLite online store');
    const path = has(m, 'path') ? r.string(m['path'], 'online_store.path', 'a path to the SQLite file, such as data/online.db') : DEFAULTS.onlineStore.sqlite.path;
    return { type: 'sqlite', path: resolve(repoPath, path) };
  }
  // repo_config.py get_online_config_from_type: a known short name, or a class path ending in
  // `OnlineStore` (a plugin), else FeastOnlineStoreInvalidName.
  if (ONLINE_STORE_TYPES.has(type) || type.endsWith('OnlineStore')) return { type: 'unsupported', name: type, raw: m };
  const near = didYouMean(type, [...ONLINE_STORE_TYPES]);
  return r.invalid(
    'online_store.type',
    written,
    `one of Feast's online store types (${[...ONLINE_STORE_TYPES].join(', ')}) or a Python class path ending in OnlineStore${near ? `; did you mean ${near}?` : ''}`,
  );
}

function readRedis(r: Reader, m: Mapping): RedisOnlineStoreConfig {
  // RedisOnlineStoreConfig forbids extra keys (FeastConfigBaseModel extra="forbid"): Feast would
  // refuse these, we only warn.
  r.unknownKeys(m, 'online_store', REDIS_KEYS, 'Redis online store');
  const d = DEFAULTS.onlineStore.redis;

  let redisType: RedisType = d.redisType;
  if (has(m, 'redis_type')) {
    const t = m['redis_type'];
    if (t !== 'redis' && t !== 'redis_cluster' && t !== 'redis_sentinel') {
      r.invalid('online_store.redis_type', t, 'redis, redis_cluster or redis_sentinel');
    }
    redisType = t;
  }
  const sentinelMaster = has(m, 'sentinel_master') ? r.string(m['sentinel_master'], 'online_store.sentinel_master', 'the sentinel master name') : d.sentinelMaster;
  const connectionExpected = 'host:port[,host:port...][,key=value...], e.g. "localhost:6379,db=0,password=secret"';
  let connectionString: string = d.connectionString;
  if (has(m, 'connection_string')) {
    const cs = m['connection_string'];
    if (typeof cs !== 'string') r.invalid('online_store.connection_string', cs, connectionExpected);
    connectionString = cs;
  }
  let connection: RedisConnection;
  try {
    connection = parseRedisConnectionString(connectionString, redisType, (msg) => r.warn(msg));
  } catch (e) {
    throw new PlatterError('CONFIG_INVALID', `${r.file}: ${(e as Error).message}`, { cause: e });
  }

  let keyTtlSeconds: number | null = d.keyTtlSeconds;
  if (has(m, 'key_ttl_seconds') && m['key_ttl_seconds'] !== null) {
    const v = m['key_ttl_seconds'];
    const expected = 'a whole number of seconds > 0, or null (or 0) for keys that never expire';
    // `Optional[int]` in lax mode: integers, integral floats and integer strings.
    let n: number | undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v)) n = v;
    else if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) n = Number(v);
    if (n === undefined) return r.invalid('online_store.key_ttl_seconds', v, expected);
    // Feast would EXPIRE with a negative time, which deletes each row as soon as it is written.
    if (n < 0) r.invalid('online_store.key_ttl_seconds', v, expected);
    keyTtlSeconds = n;
  }
  let fullScanForDeletion: boolean = d.fullScanForDeletion;
  if (has(m, 'full_scan_for_deletion')) {
    // Optional[bool]: null is allowed and falsy.
    const v = m['full_scan_for_deletion'];
    fullScanForDeletion = v === null ? false : r.laxBool(v, 'online_store.full_scan_for_deletion');
  }
  const skipDedup = has(m, 'skip_dedup') ? r.laxBool(m['skip_dedup'], 'online_store.skip_dedup') : d.skipDedup;

  return { type: 'redis', redisType, connectionString, sentinelMaster, keyTtlSeconds, fullScanForDeletion, skipDedup, connection };
}

/**
 * Splits a Redis `connection_string` exactly as Feast's `RedisOnlineStore._parse_connection_string`
 * (feast/infra/online_stores/redis.py): split on `,`; a part without `=` is `host:port`; a part
 * with `=` is a redis-py keyword argument whose value is JSON-decoded when it parses
 * (`ssl=true` -> true, `db=1` -> 1) and kept as a string otherwise. Empty parts are skipped.
 * Throws CONFIG_INVALID naming `online_store.connection_string` (without the file).
 */
export function parseRedisConnectionString(
  connectionString: string,
  redisType: RedisType = 'redis',
  warn: (message: string) => void = () => {},
): RedisConnection {
  const key = 'online_store.connection_string';
  const expected = 'host:port[,host:port...][,key=value...], e.g. "localhost:6379,db=0,password=secret"';
  const fail = (problem: string): never => {
    throw new PlatterError('CONFIG_INVALID', `\`${key}\` is ${show(redactRedis(connectionString))}: ${problem}; expected ${expected}`);
  };
  const hosts: RedisHost[] = [];
  const kwargs = new Map<string, { raw: string; value: unknown }>();
  for (const part of connectionString.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq === -1) {
      // Feast: dict(zip(["host", "port"], c.split(":"))), so pieces after the second are dropped.
      const [host = '', port] = part.split(':');
      if (host === '') fail(`part ${show(part)} has an empty host`);
      if (port === undefined) {
        // redis-py's ClusterNode defaults the port to 6379; single-node and sentinel need it.
        if (redisType !== 'redis_cluster') fail(`part ${show(part)} has no port`);
        hosts.push({ host, port: 6379 });
        continue;
      }
      if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) fail(`part ${show(part)} has port ${show(port)} (Feast does not read redis:// URLs)`);
      hosts.push({ host, port: Number(port) });
    } else {
      const raw = part.slice(eq + 1);
      kwargs.set(part.slice(0, eq), { raw, value: pyJsonLoads(raw) });
    }
  }
  if (hosts.length === 0) fail('there is no host:port');

  let password: string | undefined;
  let username: string | undefined;
  let db: number | undefined;
  let ssl: boolean | undefined;
  let readFromReplicas: boolean | undefined;
  const options: Record<string, unknown> = {};
  for (const [k, { raw, value }] of kwargs) {
    if (k === 'password' || k === 'username') {
      // redis-py sends str(value); bools and containers make its encoder raise.
      let s: string | undefined;
      if (value === null) s = undefined;
      else if (typeof value === 'string') s = value;
      else if (typeof value === 'number') s = raw.trim();
      else fail(`${k}=${k === 'password' ? '***' : raw} is not a value redis-py can send`);
      // redis-py authenticates only when the password or username is non-empty.
      if (s !== undefined && s !== '') {
        if (k === 'password') password = s;
        else username = s;
      }
    } else if (k === 'db') {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) db = value;
      else if (typeof value === 'string' && /^\d+$/.test(value)) db = Number(value);
      else fail(`db=${raw} is not a database number`);
    } else if (k === 'read_from_replicas') {
      // redis-py's RedisCluster(read_from_replicas=...), tested with `if`: Python truthiness.
      readFromReplicas = pyTruthy(value);
      if (typeof value !== 'boolean') warn(`\`${key}\` has read_from_replicas=${raw}, read with Python truthiness as ${readFromReplicas}; write true or false`);
    } else if (k === 'ssl') {
      // redis-py tests `if ssl:`, so Python truthiness decides ("ssl=True" is the truthy string).
      ssl = pyTruthy(value);
      if (typeof value !== 'boolean') warn(`\`${key}\` has ssl=${raw}, read with Python truthiness as ssl=${ssl}; write ssl=true or ssl=false`);
    } else {
      options[k] = value;
    }
  }
  return {
    hosts,
    ...(password !== undefined ? { password } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(db !== undefined ? { db } : {}),
    ...(ssl !== undefined ? { ssl } : {}),
    ...(readFromReplicas !== undefined ? { readFromReplicas } : {}),
    options,
  };
}

/** Python `json.loads(s)`, or `s` itself when it does not parse (Feast ignores JSONDecodeError). */
function pyJsonLoads(s: string): unknown {
  const t = s.trim();
  // Python's json accepts these non-standard constants; JSON.parse does not.
  if (t === 'NaN') return NaN;
  if (t === 'Infinity') return Infinity;
  if (t === '-Infinity') return -Infinity;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

/** Python `bool(v)` for a JSON-decoded value (NaN is truthy in Python). */
function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === '') return false;
  if (typeof v === 'number') return v !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isMapping(v)) return Object.keys(v).length > 0;
  return true;
}

function redactRedis(cs: string): string {
  return cs.replace(/(^|,)(password=)[^,]*/g, '$1$2***');
}

// ---------------------------------------------------------------------------------------------
// Offline store, feature server, platter

/** repo_config.py `_validate_offline_store_config`; Platter only keeps it for writers. */
function readOfflineStore(r: Reader, doc: Mapping): OfflineStoreConfig | null {
  let m: Mapping;
  if (!has(doc, 'offline_store')) m = { type: DEFAULTS.offlineStore.type };
  else {
    const v = doc['offline_store'];
    if (v === null) return null;
    if (typeof v === 'string') m = { type: v };
    else if (isMapping(v)) m = v;
    else return r.invalid('offline_store', v, 'a mapping with `type` (e.g. file, snowflake.offline), a type name, or null');
  }
  const written = has(m, 'type') ? r.string(m['type'], 'offline_store.type', 'an offline store type such as file or snowflake.offline') : DEFAULTS.offlineStore.type;
  if (!OFFLINE_STORE_TYPES.has(written) && !written.endsWith('OfflineStore')) {
    // Feast raises FeastOfflineStoreInvalidName; a read server does not use the offline store.
    r.warn(`\`offline_store.type\` is ${show(written)}, which Feast does not know (expected ${[...OFFLINE_STORE_TYPES].join(', ')} or a class path ending in OfflineStore); ignored by platter serve`);
  }
  return { type: written === 'file' ? 'dask' : written, raw: m };
}

function readFeatureServer(r: Reader, doc: Mapping): FeatureServerConfig | null {
  if (!has(doc, 'feature_server') || doc['feature_server'] === null) return null;
  const m = r.mapping(doc['feature_server'], 'feature_server', 'a mapping such as {type: local, feature_logging: {enabled: true}}');
  const d = DEFAULTS.featureServer;
  const type = has(m, 'type') ? r.string(m['type'], 'feature_server.type', 'local or mcp') : d.type;
  // repo_config.py FEATURE_SERVER_CONFIG_CLASS_FOR_TYPE; anything else raises FeastFeatureServerTypeInvalidError.
  if (type !== 'local' && type !== 'mcp') r.invalid('feature_server.type', type, 'local or mcp');
  const enabled = has(m, 'enabled') ? r.bool(m['enabled'], 'feature_server.enabled') : d.enabled;

  const fl = d.featureLogging;
  let featureLogging: FeatureLoggingConfig = { ...fl };
  if (has(m, 'feature_logging') && m['feature_logging'] !== null) {
    const l = r.mapping(m['feature_logging'], 'feature_server.feature_logging');
    const count = (k: string, def: number, unit: string): number => {
      if (!has(l, k)) return def;
      const n = r.int(l[k], `feature_server.feature_logging.${k}`, `a whole number of ${unit} >= 0`);
      if (n < 0) r.invalid(`feature_server.feature_logging.${k}`, n, `a whole number of ${unit} >= 0`);
      return n;
    };
    r.unknownKeys(l, 'feature_server.feature_logging', ['enabled', 'flush_interval_secs', 'write_to_disk_interval_secs', 'queue_capacity', 'emit_timeout_micro_secs'], 'feature logging');
    featureLogging = {
      enabled: has(l, 'enabled') ? r.bool(l['enabled'], 'feature_server.feature_logging.enabled') : fl.enabled,
      flushIntervalSecs: count('flush_interval_secs', fl.flushIntervalSecs, 'seconds'),
      writeToDiskIntervalSecs: count('write_to_disk_interval_secs', fl.writeToDiskIntervalSecs, 'seconds'),
      queueCapacity: count('queue_capacity', fl.queueCapacity, 'items'),
      emitTimeoutMicroSecs: count('emit_timeout_micro_secs', fl.emitTimeoutMicroSecs, 'microseconds'),
    };
  }
  return { type, enabled, featureLogging, raw: m };
}

const PLATTER_KEYS = ['max_entity_rows', 'max_request_bytes', 'online_store_timeout_ms', 'ttl_policy', 'redis_read', 'workers', 'http', 'grpc', 'admin'];

/** Our `platter:` section, snake_case like the rest of the file. Feast ignores it (extra="allow"). */
function readPlatter(r: Reader, doc: Mapping): PlatterSettings {
  const d = DEFAULTS.platter;
  if (!has(doc, 'platter') || doc['platter'] === null) {
    return { ...d, http: { ...d.http }, grpc: { ...d.grpc } };
  }
  const m = r.mapping(doc['platter'], 'platter', 'a mapping of Platter settings such as {max_entity_rows: 10000}');
  r.unknownKeys(m, 'platter', PLATTER_KEYS, 'Platter setting');
  const positive = (v: unknown, key: string, unit: string): number => {
    const n = r.int(v, key, `a whole number of ${unit} > 0`);
    if (n <= 0) r.invalid(key, n, `a whole number of ${unit} > 0`);
    return n;
  };
  const port = (v: unknown, key: string): number => {
    const n = r.int(v, key, 'a port number from 0 to 65535 (0 = any free port)');
    if (n < 0 || n > 65535) r.invalid(key, n, 'a port number from 0 to 65535 (0 = any free port)');
    return n;
  };
  let ttlPolicy: PlatterSettings['ttlPolicy'] = d.ttlPolicy;
  if (has(m, 'ttl_policy')) {
    const t = m['ttl_policy'];
    if (t !== 'flag' && t !== 'null') {
      r.invalid('platter.ttl_policy', t, 'flag (OUTSIDE_MAX_AGE, value returned) or null (OUTSIDE_MAX_AGE, value nulled); quote "null" in YAML');
    }
    ttlPolicy = t;
  }
  let redisRead: PlatterSettings['redisRead'] = d.redisRead;
  if (has(m, 'redis_read')) {
    const v = m['redis_read'];
    if (v !== 'auto' && v !== 'script' && v !== 'pipeline') {
      r.invalid('platter.redis_read', v, 'auto (fast lane), script (one Lua call per request through ioredis) or pipeline (pipelined HMGETs through ioredis)');
    }
    redisRead = v;
  }
  let workers: PlatterSettings['workers'] = d.workers;
  if (has(m, 'workers') && m['workers'] !== 'auto') {
    const n = r.int(m['workers'], 'platter.workers', 'a number of serving processes from 1 to 256, or auto (one per core)');
    if (n < 1 || n > 256) r.invalid('platter.workers', n, 'a number of serving processes from 1 to 256, or auto (one per core)');
    workers = n;
  } else if (has(m, 'workers')) {
    workers = 'auto';
  }
  let http: PlatterSettings['http'] = { ...d.http };
  if (has(m, 'http') && m['http'] !== null) {
    const h = r.mapping(m['http'], 'platter.http', 'a mapping such as {host: 0.0.0.0, port: 6566}');
    r.unknownKeys(h, 'platter.http', ['host', 'port'], 'Platter HTTP setting');
    http = {
      host: has(h, 'host') ? r.string(h['host'], 'platter.http.host', 'an interface address such as 0.0.0.0 or 127.0.0.1') : d.http.host,
      port: has(h, 'port') ? port(h['port'], 'platter.http.port') : d.http.port,
    };
  }
  let grpc: PlatterSettings['grpc'] = { ...d.grpc };
  if (has(m, 'grpc') && m['grpc'] !== null) {
    const g = r.mapping(m['grpc'], 'platter.grpc', 'a mapping such as {port: 6570}');
    r.unknownKeys(g, 'platter.grpc', ['port'], 'Platter gRPC setting');
    grpc = { port: has(g, 'port') ? port(g['port'], 'platter.grpc.port') : d.grpc.port };
  }
  let admin: PlatterSettings['admin'];
  if (has(m, 'admin') && m['admin'] !== null) {
    const a = r.mapping(m['admin'], 'platter.admin', 'a mapping such as {port: 6567, token: ${PLATTER_ADMIN_TOKEN}}');
    r.unknownKeys(a, 'platter.admin', ['host', 'port', 'token'], 'Platter admin setting');
    const tokenExpected = 'a bearer token string (or leave it out and set PLATTER_ADMIN_TOKEN)';
    admin = {
      ...(has(a, 'host') && a['host'] !== null ? { host: r.string(a['host'], 'platter.admin.host', 'an interface address such as 127.0.0.1') } : {}),
      ...(has(a, 'port') && a['port'] !== null ? { port: port(a['port'], 'platter.admin.port') } : {}),
      ...(has(a, 'token') && a['token'] !== null && a['token'] !== '' ? { token: r.string(a['token'], 'platter.admin.token', tokenExpected) } : {}),
    };
  }
  return {
    maxEntityRows: has(m, 'max_entity_rows') ? positive(m['max_entity_rows'], 'platter.max_entity_rows', 'rows') : d.maxEntityRows,
    maxRequestBytes: has(m, 'max_request_bytes') ? positive(m['max_request_bytes'], 'platter.max_request_bytes', 'bytes') : d.maxRequestBytes,
    onlineStoreTimeoutMs: has(m, 'online_store_timeout_ms') ? positive(m['online_store_timeout_ms'], 'platter.online_store_timeout_ms', 'milliseconds') : d.onlineStoreTimeoutMs,
    ttlPolicy,
    redisRead,
    workers,
    http,
    grpc,
    ...(admin !== undefined ? { admin } : {}),
  };
}
