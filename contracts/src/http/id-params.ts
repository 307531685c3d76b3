/** The shortest id prefix the gateway resolves: shorter ones must be whole ids. */
export const MIN_ID_PREFIX = 4;

/**
 * Path parameters that name an entity, and which entity: the gateway takes a unique prefix (at least
 * MIN_ID_PREFIX characters) of each wherever the route table has one. `entityId` names the route's
 * `{entity}`; `participant` a participant of the route's `{share}`.
 */
export const ID_PARAMS: Readonly<Record<string, string>> = {
  entityId: '{entity}',
  share: 'share',
  participant: 'participant',
  lane: 'lane',
  approval: 'approval',
  handoff: 'handoff',
  run: 'taskRun',
  recovery: 'recovery',
  credential: 'credential',
  terminal: 'terminal',
};

/**
 * Request body fields that name an existing entity, by operation id: resolved like path parameters. Only
 * these: a field that names a new entity (lane.create's lane_id) must stay as given.
 */
export const BODY_IDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'shares.create': { terminal_id: 'terminal' },
  'terminals.spawn': { session_id: 'session' },
  'handoffs.request': { terminal_id: 'terminal', session_id: 'session' },
  'handoffs.accept': { session_id: 'session' },
  'taskRuns.run': { lane_id: 'lane' },
};

/** Path parameters that name no entity (a workspace is configured, not an actor; a kind or verb is a name). */
export const NAME_PARAMS: ReadonlySet<string> = new Set(['ws', 'entity', 'verb']);

/** Whether a route's path parameters include an entity id (which may then be ambiguous). */
export const takesIds = (params: Iterable<string>) => [...params].some((p) => Object.hasOwn(ID_PARAMS, p));
