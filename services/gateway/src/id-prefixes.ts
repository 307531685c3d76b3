import {
  ACTORS_BUCKET,
  entityContracts,
  ID_PARAMS,
  MIN_ID_PREFIX,
  TetherError,
  Token,
  type Principal,
} from '@tether/contracts';
import type { EventStore, SavedActor } from '@tether/runtime';

type Params = Record<string, string>;
type Doc = { value: SavedActor };

/** A whole id as tether derives them (host.derivedId): nothing to resolve, so nothing to read. */
const WHOLE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How many candidates an ambiguity names. */
const LISTED = 10;
/** The shortest prefix an ambiguity shows of a candidate (more where two candidates share it). */
const SHOWN = 8;

/**
 * Any unique prefix works wherever a route takes an id: before the handler runs, each path parameter
 * that names an entity (contracts' ID_PARAMS), and each body field a route declares (BODY_IDS), is
 * replaced by the one id of the actors read model that starts with it. A whole id, an unknown one (the handler says NOT_FOUND) and one shorter than
 * MIN_ID_PREFIX pass unchanged; a prefix of several ids is AMBIGUOUS_ID, naming them.
 */
export function idPrefixes(store: EventStore) {
  const actors = () => store.kv(ACTORS_BUCKET);

  /** The ids of `entity` starting with `value`, or [value] itself when it is one of them (exact wins). */
  const candidates = async (entity: string, value: string): Promise<string[]> => {
    const kv = await actors();
    // A whole id is one read; only a miss lists the kind's keys (every request with an id comes here).
    if (await kv.get<Doc>(`${entity}.${value}`)) return [value];
    return (await kv.entries<Doc>(`${entity}.${value}`)).map((e) => e.key.slice(entity.length + 1));
  };

  const participants = async (shareId: string, value: string): Promise<string[]> => {
    const share = (await (await actors()).get<Doc>(`share.${shareId}`))?.value.value;
    const ids = Object.keys((share?.context as { participants?: object } | undefined)?.participants ?? {});
    if (ids.includes(value)) return [value];
    // Participant ids read "p-<hex>": the hex alone is a prefix too.
    return ids.filter((id) => id.startsWith(value) || id.startsWith(`p-${value}`));
  };

  const one = async (name: string, entity: string, value: string): Promise<string> => {
    const found = Object.hasOwn(entityContracts, entity) ? await candidates(entity, value) : [];
    if (found.length > 1) throw ambiguous(name, entity, value, found);
    return found[0] ?? value;
  };

  return async (
    params: Params,
    principal: Principal | undefined,
    body?: { value: unknown; fields: Readonly<Record<string, string>> },
  ): Promise<void> => {
    // Body fields that name an existing entity (contracts' BODY_IDS), as the route declares them.
    const data = body?.value;
    if (data && typeof data === 'object' && !Array.isArray(data))
      for (const [field, entity] of Object.entries(body.fields)) {
        const value = (data as Record<string, unknown>)[field];
        if (typeof value === 'string' && resolvable(value))
          (data as Record<string, unknown>)[field] = await one(field, entity, value);
      }
    // Share first: a participant resolves within its (resolved) share.
    for (const name of Object.keys(params).sort((a, b) => Number(b === 'share') - Number(a === 'share'))) {
      const entity = ID_PARAMS[name] === '{entity}' ? params.entity : ID_PARAMS[name];
      const value = params[name]!;
      if (!entity || !resolvable(value)) continue;
      if (entity === 'credential' && principal?.role !== 'operator') continue; // only operators list credentials
      if (entity !== 'participant') {
        params[name] = await one(name, entity, value);
        continue;
      }
      const found = await participants(params.share ?? '', value);
      if (found.length > 1) throw ambiguous(name, entity, value, found);
      params[name] = found[0] ?? value;
    }
  };
}

const resolvable = (value: string) =>
  value.length >= MIN_ID_PREFIX && !WHOLE_UUID.test(value) && Token.safeParse(value).success;

function ambiguous(param: string, entity: string, value: string, ids: string[]): TetherError {
  const listed = ids.slice(0, LISTED);
  const more = ids.length > LISTED ? ` and ${ids.length - LISTED} more` : '';
  return new TetherError(
    'AMBIGUOUS_ID',
    `"${value}" starts ${ids.length} ${entity} ids (${listed.map((id) => short(id, ids)).join(', ')}${more}); give more characters of the one you mean`,
    { issues: listed.map((id) => ({ path: [param], message: id })) },
  );
}

/** The id cut to the shortest prefix (at least SHOWN) that no other candidate starts with. */
function short(id: string, all: string[]): string {
  for (let n = SHOWN; n < id.length; n++) {
    const p = id.slice(0, n);
    if (!all.some((o) => o !== id && o.startsWith(p))) return `${p}…`;
  }
  return id;
}
