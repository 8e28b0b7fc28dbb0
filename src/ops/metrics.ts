/**
 * A minimal Prometheus text exposition (format 0.0.4) for the admin port: the registry refresh
 * metrics and a few process figures that cost nothing to read. Collected on scrape, never on the
 * request path.
 */
import type { RegistryCache } from '../registry/registry-cache.js';

export interface MetricSample {
  /** A histogram's `_bucket`, `_sum` or `_count` line. */
  readonly suffix?: '_bucket' | '_sum' | '_count';
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly samples: readonly MetricSample[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = s.labels ? Object.entries(s.labels) : [];
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      out.push(`${f.name}${s.suffix ?? ''}${l} ${num(s.value)}`);
    }
  }
  return out.join('\n') + '\n';
}

const seconds = (d: Date | null) => (d === null ? 0 : d.getTime() / 1000);
const one = (name: string, help: string, type: MetricFamily['type'], value: number): MetricFamily => ({ name, help, type, samples: [{ value }] });

export function registryMetrics(registry: RegistryCache): MetricFamily[] {
  const s = registry.stats;
  const index = registry.loaded ? registry.current() : null;
  const families: MetricFamily[] = [
    one('registry_last_success_timestamp', 'Unix time of the last refresh that confirmed or loaded the served registry (0: never).', 'gauge', seconds(s.lastSuccess)),
    one('registry_refresh_failures_total', 'Refreshes that failed to load or validate; the last good registry kept serving.', 'counter', s.failures),
    one('registry_last_change_timestamp', 'Unix time the served registry was last swapped (0: never).', 'gauge', seconds(s.lastChange)),
    one('registry_last_failure_timestamp', 'Unix time of the last failed refresh (0: never).', 'gauge', seconds(s.lastFailure)),
    one('registry_refreshes_total', 'Refreshes completed (polls, events and admin calls that ran a change check).', 'counter', s.refreshes),
    one('registry_swaps_total', 'Registries loaded and swapped in.', 'counter', s.swaps),
    one('registry_events_total', 'Change events received (NOTIFY, file watch).', 'counter', s.events),
    one('registry_loaded', '1 once a registry has loaded.', 'gauge', index ? 1 : 0),
    one('registry_last_load_seconds', 'Duration of the last full load and index build.', 'gauge', (s.lastLoadMs ?? 0) / 1000),
    one('registry_feature_views', 'Feature views of the served project.', 'gauge', index?.views.size ?? 0),
    one('registry_feature_services', 'Feature services of the served project.', 'gauge', index?.services.size ?? 0),
  ];
  const w = registry.watchStatus;
  if (w !== null) {
    families.push(
      { name: 'registry_watch_connected', help: 'Whether the change-event channel (LISTEN, file watch) is up.', type: 'gauge', samples: [{ labels: { kind: w.kind }, value: w.connected ? 1 : 0 }] },
      { name: 'registry_watch_connects_total', help: 'Times the change-event channel was (re)established.', type: 'counter', samples: [{ labels: { kind: w.kind }, value: w.connects }] },
    );
  }
  return families;
}

const startedAt = Date.now() / 1000 - process.uptime();

export function processMetrics(): MetricFamily[] {
  const mem = process.memoryUsage();
  return [
    one('process_start_time_seconds', 'Unix time the process started.', 'gauge', Math.floor(startedAt)),
    one('process_resident_memory_bytes', 'Resident set size.', 'gauge', mem.rss),
    one('nodejs_heap_used_bytes', 'V8 heap in use.', 'gauge', mem.heapUsed),
  ];
}
