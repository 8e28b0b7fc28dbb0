/**
 * Resolves a request shape (features or service, full names, entity columns) against a
 * RegistryIndex once; the result is cached per shape and dies with the index. Groups collect every
 * requested view that shares one entity key, so one store read per distinct key serves them all
 * (Feast's Redis layout keeps those views in the same hash).
 */
import { PlatterError } from '../errors.js';
import { createEntityKeyEncoder, type EntityKeyEncoder, type EntityKeyVersion } from '../encoding/entity-key.js';
import type { ValueTypeNumber } from '../encoding/value-type.js';
import { DUMMY_ENTITY_ID, type FeatureViewDef } from '../registry/model.js';
import type { RegistryIndex } from '../registry/registry-index.js';
import type { GroupLayout, OnlineReader, ViewSlots } from '../online/types.js';

export interface PlanJoinKey {
  /** The view's join key. */
  readonly joinKey: string;
  /** The request column holding it (after a service's join_key_map); null for the dummy key. */
  readonly column: string | null;
  /** The response column name: the (mapped) join key, even when the client sent the entity's name. */
  readonly output: string | null;
  readonly valueType: ValueTypeNumber;
}

export interface PlanGroup {
  readonly joinKeys: readonly PlanJoinKey[];
  readonly encoder: EntityKeyEncoder;
  readonly layout: GroupLayout;
  readonly prepared: unknown;
  /** Entity-less views: every row reads the same dummy key. */
  readonly dummy: boolean;
}

export interface PlanFeature {
  readonly name: string;
  readonly group: number;
  readonly slot: number;
  readonly tsSlot: number;
  readonly ttlSeconds: number;
  /** Position of this feature's view inside its group's layout (per-row timestamp cache). */
  readonly viewInGroup: number;
}

export interface PlanEntityColumn {
  /** The request column. */
  readonly name: string;
  /** Its name in the response. */
  readonly output: string;
  readonly valueType: ValueTypeNumber;
}

export interface Plan {
  readonly groups: readonly PlanGroup[];
  readonly entityColumns: readonly PlanEntityColumn[];
  readonly features: readonly PlanFeature[];
  readonly featureNames: readonly string[];
  /** Names of the feature columns alone (`features[i].name`). */
  readonly outputFeatureNames: readonly string[];
}

interface Selection {
  view: FeatureViewDef;
  nameToUse: string;
  features: string[];
  joinKeyMap: ReadonlyMap<string, string>;
}

const MAX_CACHED_PLANS = 2048;

/** Plans for one RegistryIndex; a new index gets a new Planner, which is how caches are dropped. */
export class Planner {
  readonly index: RegistryIndex;
  readonly #reader: OnlineReader;
  readonly #version: EntityKeyVersion;
  readonly #cache = new Map<string, Plan>();
  readonly #stored = new Map<string, number>();

  constructor(index: RegistryIndex, reader: OnlineReader, version: EntityKeyVersion) {
    this.index = index;
    this.#reader = reader;
    this.#version = version;
  }

  plan(features: readonly string[] | null, service: string | null, fullNames: boolean, columns: readonly string[]): Plan {
    const key = `${service ?? ''}\u0001${features ? features.join('\u0002') : ''}\u0001${fullNames ? 1 : 0}\u0001${columns.join('\u0002')}`;
    let p = this.#cache.get(key);
    if (p === undefined) {
      p = this.#build(features, service, fullNames, columns);
      if (this.#cache.size >= MAX_CACHED_PLANS) this.#cache.clear();
      this.#cache.set(key, p);
    }
    return p;
  }

  #build(features: readonly string[] | null, service: string | null, fullNames: boolean, columns: readonly string[]): Plan {
    const selections = service !== null ? this.#selectService(service) : this.#selectFeatures(features ?? []);
    const columnSet = new Set(columns);

    const groups: {
      id: string;
      joinKeys: PlanJoinKey[];
      dummy: boolean;
      views: Map<string, { view: FeatureViewDef; features: string[]; slots: number[]; tsSlot: number }>;
      width: number;
    }[] = [];
    const groupById = new Map<string, number>();
    const planFeatures: Omit<PlanFeature, 'viewInGroup'>[] = [];
    const featureView: string[] = [];
    const names: string[] = [];
    const usedColumns = new Set<string>();

    for (const sel of selections) {
      const jks = this.#joinKeysFor(sel, columnSet);
      const dummy = jks.length === 1 && jks[0]!.column === null;
      for (const jk of jks) if (jk.column !== null) usedColumns.add(jk.column);
      const id = jks.map((j) => `${j.joinKey}=${j.column ?? ''}:${j.valueType}`).sort().join(',');
      let gi = groupById.get(id);
      if (gi === undefined) {
        gi = groups.length;
        groupById.set(id, gi);
        groups.push({ id, joinKeys: jks, dummy, views: new Map(), width: 0 });
      }
      const g = groups[gi]!;
      let vs = g.views.get(sel.view.name);
      if (!vs) {
        vs = { view: sel.view, features: [], slots: [], tsSlot: g.width++ };
        g.views.set(sel.view.name, vs);
      }
      for (const f of sel.features) {
        let at = vs.features.indexOf(f);
        if (at < 0) {
          at = vs.features.length;
          vs.features.push(f);
          vs.slots.push(g.width++);
        }
        planFeatures.push({
          name: fullNames ? `${sel.nameToUse}__${f}` : f,
          group: gi,
          slot: vs.slots[at]!,
          tsSlot: vs.tsSlot,
          ttlSeconds: sel.view.ttlSeconds,
        });
        featureView.push(sel.view.name);
      }
    }

    const seen = new Map<string, string>();
    planFeatures.forEach((f, i) => {
      const prev = seen.get(f.name);
      if (prev !== undefined) {
        throw new PlatterError(
          'FEATURE_NAME_COLLISION',
          fullNames
            ? `feature '${f.name}' is requested twice`
            : `feature name '${f.name}' is requested from both '${prev}' and '${featureView[i]}'; set full_feature_names to true to tell them apart`,
        );
      }
      seen.set(f.name, featureView[i]!);
    });

    const planGroups: PlanGroup[] = groups.map((g) => {
      const viewsList = [...g.views.values()];
      const layout: GroupLayout = {
        width: g.width,
        storedFields: this.#storedFields(g.joinKeys.map((j) => j.joinKey)),
        views: viewsList.map((v): ViewSlots => ({ view: v.view, features: v.features, featureSlots: v.slots, tsSlot: v.tsSlot })),
      };
      return {
        joinKeys: g.joinKeys,
        encoder: createEntityKeyEncoder(g.joinKeys.map((j) => j.joinKey), this.#version),
        layout,
        prepared: this.#reader.prepare(layout),
        dummy: g.dummy,
      };
    });
    const resolved: PlanFeature[] = planFeatures.map((f) => {
      const layout = planGroups[f.group]!.layout;
      return { ...f, viewInGroup: layout.views.findIndex((v) => v.tsSlot === f.tsSlot) };
    });

    // Join-key columns come first, in the order the client sent them (Feast Python).
    const used = new Map<string, PlanJoinKey>();
    for (const g of planGroups) for (const j of g.joinKeys) if (j.column !== null && !used.has(j.column)) used.set(j.column, j);
    const entityColumns = columns
      .filter((c) => usedColumns.has(c))
      .map((c) => ({ name: c, output: used.get(c)!.output!, valueType: used.get(c)!.valueType }));
    for (const f of resolved) names.push(f.name);
    return {
      groups: planGroups,
      entityColumns,
      features: resolved,
      featureNames: [...entityColumns.map((c) => c.output), ...names],
      outputFeatureNames: names,
    };
  }

  /** Fields per entity key in Feast's layout: every online view over the same join keys, features + `_ts`. */
  #storedFields(joinKeys: readonly string[]): number {
    const id = [...joinKeys].sort().join('\u0000');
    let n = this.#stored.get(id);
    if (n === undefined) {
      n = 0;
      for (const v of this.index.views.values()) {
        if (!v.online) continue;
        if (v.joinKeys.map((j) => j.name).sort().join('\u0000') === id) n += v.features.length + 1;
      }
      this.#stored.set(id, n);
    }
    return n;
  }

  #view(name: string, context: string): FeatureViewDef {
    const v = this.index.views.get(name);
    if (!v) {
      throw new PlatterError(
        'FEATURE_VIEW_NOT_FOUND',
        `feature view '${name}' ${context} does not exist in project '${this.index.project}'; check the name or run \`feast apply\``,
      );
    }
    if (v.kind === 'on_demand_feature_view' && !v.writeToOnlineStore) {
      throw new PlatterError(
        'UNSUPPORTED_FEATURE',
        `on-demand feature view '${name}' transforms at request time, which Platter does not run; declare it with write_to_online_store=True so its outputs are stored, or serve it from Feast`,
      );
    }
    if (!v.online) {
      throw new PlatterError(
        'FEATURE_VIEW_NOT_ONLINE',
        `feature view '${name}' is registered with online=False, so nothing is materialized for it; set online=True and materialize`,
      );
    }
    if (v.disabled) {
      throw new PlatterError('FEATURE_VIEW_NOT_ONLINE', `feature view '${name}' is disabled in the registry`);
    }
    return v;
  }

  #selectFeatures(refs: readonly string[]): Selection[] {
    if (refs.length === 0) {
      throw new PlatterError('EMPTY_REQUEST', 'no features requested: send `features` (["view:feature", ...]) or `feature_service`');
    }
    const byView = new Map<string, Selection>();
    for (const ref of refs) {
      if (typeof ref !== 'string') {
        throw new PlatterError('FEATURE_REFERENCE_INVALID', `feature reference ${JSON.stringify(ref)} must be a string "view:feature"`);
      }
      const colon = ref.indexOf(':');
      if (colon <= 0 || colon === ref.length - 1) {
        throw new PlatterError('FEATURE_REFERENCE_INVALID', `feature reference '${ref}' must have the form "view:feature"`);
      }
      const viewName = ref.slice(0, colon);
      const feature = ref.slice(colon + 1);
      if (viewName.includes('@')) {
        throw new PlatterError(
          'UNSUPPORTED_FEATURE',
          `feature reference '${ref}' pins a feature view version, which Platter does not serve yet; use the unversioned name`,
        );
      }
      let sel = byView.get(viewName);
      if (!sel) {
        const view = this.#view(viewName, `(in '${ref}')`);
        sel = { view, nameToUse: view.name, features: [], joinKeyMap: new Map() };
        byView.set(viewName, sel);
      }
      if (!sel.view.featureByName.has(feature)) {
        throw new PlatterError(
          'FEATURE_NOT_FOUND',
          `feature '${feature}' is not defined in feature view '${viewName}' (it has: ${sel.view.features.map((f) => f.name).join(', ')})`,
        );
      }
      sel.features.push(feature);
    }
    // Grouped per view in order of first appearance, as Feast groups feature refs.
    return [...byView.values()];
  }

  #selectService(name: string): Selection[] {
    const svc = this.index.services.get(name);
    if (!svc) {
      throw new PlatterError(
        'FEATURE_SERVICE_NOT_FOUND',
        `feature service '${name}' does not exist in project '${this.index.project}'; check the name or run \`feast apply\``,
      );
    }
    return svc.projections.map((p) => ({
      view: this.#view(p.viewName, `(used by feature service '${name}')`),
      nameToUse: p.nameToUse,
      features: [...p.features],
      joinKeyMap: p.joinKeyMap,
    }));
  }

  #joinKeysFor(sel: Selection, columns: ReadonlySet<string>): PlanJoinKey[] {
    const v = sel.view;
    if (v.joinKeys.length === 1 && v.joinKeys[0]!.name === DUMMY_ENTITY_ID) {
      return [{ joinKey: DUMMY_ENTITY_ID, column: null, output: null, valueType: v.joinKeys[0]!.valueType }];
    }
    return v.joinKeys.map((jk) => {
      const output = sel.joinKeyMap.get(jk.name) ?? jk.name;
      let column = output;
      if (!columns.has(column)) {
        // Feast still accepts an entity's name in place of its join key (deprecated).
        const byEntityName = [...this.index.entities.values()].find((e) => e.joinKey === jk.name && columns.has(e.name));
        if (!byEntityName) {
          throw new PlatterError(
            'ENTITY_KEY_MISSING',
            `entities is missing join key '${column}' needed by feature view '${v.name}' (got: ${[...columns].join(', ') || 'nothing'})`,
          );
        }
        column = byEntityName.name;
      }
      return { joinKey: jk.name, column, output, valueType: jk.valueType };
    });
  }
}
