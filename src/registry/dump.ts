/**
 * The resolved registry as ops see it: what `platter serve` would serve for a project (the same
 * RegistryIndex), as JSON or as a text table. `platter registry dump` and the admin endpoint's
 * `GET /admin/registry` print it: the first thing to look at when a request says "feature view
 * not found".
 */
import { valueTypeName } from '../encoding/value-type.js';
import type { RegistryIndex } from './registry-index.js';

export interface RegistryDump {
  readonly source: string;
  readonly project: string;
  /** Every project the registry names. */
  readonly projects: readonly string[];
  readonly lastUpdated: string | null;
  readonly loadedAt: string;
  readonly entities: readonly { name: string; joinKey: string; valueType: string }[];
  readonly featureViews: readonly {
    name: string;
    kind: string;
    online: boolean;
    disabled: boolean;
    ttlSeconds: number;
    entities: readonly string[];
    joinKeys: readonly { name: string; valueType: string }[];
    features: readonly { name: string; valueType: string }[];
    streamSource: string | null;
  }[];
  readonly featureServices: readonly {
    name: string;
    projections: readonly { view: string; nameToUse: string; features: readonly string[]; joinKeyMap: Readonly<Record<string, string>> }[];
    logging: { sampleRate: number; destination: string | null } | null;
  }[];
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function dumpIndex(index: RegistryIndex, source: string): RegistryDump {
  return {
    source,
    project: index.project,
    projects: [...index.projects],
    lastUpdated: index.lastUpdated?.toISOString() ?? null,
    loadedAt: index.loadedAt.toISOString(),
    entities: [...index.entities.values()].map((e) => ({ name: e.name, joinKey: e.joinKey, valueType: valueTypeName(e.valueType) })).sort(byName),
    featureViews: [...index.views.values()]
      .map((v) => ({
        name: v.name,
        kind: v.kind,
        online: v.online,
        disabled: v.disabled,
        ttlSeconds: v.ttlSeconds,
        entities: [...v.entityNames],
        joinKeys: v.joinKeys.map((k) => ({ name: k.name, valueType: valueTypeName(k.valueType) })),
        features: v.features.map((f) => ({ name: f.name, valueType: valueTypeName(f.valueType) })),
        streamSource: v.streamSourceName,
      }))
      .sort(byName),
    featureServices: [...index.services.values()]
      .map((s) => ({
        name: s.name,
        projections: s.projections.map((p) => ({
          view: p.viewName,
          nameToUse: p.nameToUse,
          features: [...p.features],
          joinKeyMap: Object.fromEntries(p.joinKeyMap),
        })),
        logging: s.logging ? { ...s.logging } : null,
      }))
      .sort(byName),
  };
}

function ttl(seconds: number): string {
  if (seconds === 0) return 'none';
  const units: [number, string][] = [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']];
  for (const [n, u] of units) if (seconds >= n && seconds % n === 0) return `${seconds / n}${u}`;
  return `${seconds}s`;
}

/** Columns padded to their widest cell. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => '  ' + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

export function renderDumpTable(d: RegistryDump): string {
  const out: string[] = [];
  out.push(`registry:  ${d.source}`);
  out.push(`project:   ${d.project}${d.projects.includes(d.project) ? '' : '  (not in this registry!)'}`);
  out.push(`projects:  ${d.projects.length > 0 ? d.projects.join(', ') : '(none)'}`);
  out.push(`updated:   ${d.lastUpdated ?? 'unknown'}   loaded: ${d.loadedAt}`);
  out.push('');
  out.push(`ENTITIES (${d.entities.length})`);
  if (d.entities.length > 0) out.push(...table(['name', 'join key', 'type'], d.entities.map((e) => [e.name, e.joinKey, e.valueType])));
  out.push('');
  out.push(`FEATURE VIEWS (${d.featureViews.length})`);
  for (const v of d.featureViews) {
    const flags = [v.kind, v.online ? 'online' : 'OFFLINE ONLY', ...(v.disabled ? ['DISABLED'] : []), `ttl ${ttl(v.ttlSeconds)}`];
    out.push(`  ${v.name}  [${flags.join(', ')}]`);
    out.push(`    join keys: ${v.joinKeys.map((k) => `${k.name} ${k.valueType}`).join(', ') || '(none)'}${v.streamSource ? `   stream/push source: ${v.streamSource}` : ''}`);
    out.push(...table(['feature', 'type'], v.features.map((f) => [f.name, f.valueType])).map((l) => `  ${l}`));
  }
  out.push('');
  out.push(`FEATURE SERVICES (${d.featureServices.length})`);
  for (const s of d.featureServices) {
    out.push(`  ${s.name}${s.logging ? `  [logging: sample ${s.logging.sampleRate}${s.logging.destination ? ` -> ${s.logging.destination}` : ''}]` : ''}`);
    for (const p of s.projections) {
      const alias = p.nameToUse !== p.view ? ` as ${p.nameToUse}` : '';
      const jkm = Object.entries(p.joinKeyMap);
      out.push(`    ${p.view}${alias}: ${p.features.join(', ')}${jkm.length ? `   join_key_map: ${jkm.map(([k, v]) => `${k} -> ${v}`).join(', ')}` : ''}`);
    }
  }
  return out.join('\n') + '\n';
}
