import { z } from 'zod';
import * as controlPlaneApi from '../api/control-plane.ts';
import * as sharingApi from '../api/sharing.ts';
import * as auditSchemas from '../audit.ts';
import * as commandSchemas from '../command.ts';
import { CommandRequest } from '../command.ts';
import * as envelopeSchemas from '../envelope.ts';
import { ErrorCode, HTTP_STATUS } from '../errors.ts';
import { publicCommands } from '../entities.ts';
import { BODY_LIMIT_BYTES, repliesJson, requestHeaders, routes, type RouteSpec } from '../http/routes.ts';
import { BODY_IDS, takesIds } from '../http/id-params.ts';
import * as httpSchemas from '../http/schemas.ts';

/**
 * Schemas that become components, named as they are exported; any other schema is written inline.
 * A component nested in another (ShareView in ShareCreated) is a $ref.
 */
const catalog = [commandSchemas, envelopeSchemas, controlPlaneApi, sharingApi, auditSchemas, httpSchemas];
/** Bad configuration stops tether at start; no request is refused with it. */
const requestErrors = ErrorCode.options.filter((c) => c !== 'INVALID_CONFIG');

type Io = 'input' | 'output';
type Json = Record<string, unknown>;

/** The OpenAPI 3.1 document of the gateway, generated from the route table and the zod contracts (never edited by hand). */
export function openApiDocument() {
  const components = new Components();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [operationId, route] of Object.entries(routes) as [string, RouteSpec][]) {
    const ops = operationId === 'command' ? commandOperations(route, components) : [{ operationId, route }];
    for (const op of ops) {
      paths[op.route.path] ??= {};
      paths[op.route.path]![op.route.method.toLowerCase()] = operation(op, components);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tether',
      version: '0.1.0',
      description:
        'Control plane for terminals shared between humans and AI agents. Any other method or path answers 404 ' +
        '(400 for a malformed path) with the CommandRejected body. Generated from contracts/; do not edit.',
    },
    paths,
    // A token (tether token create) as a bearer, or the dashboard's session cookie (with X-Tether-Csrf on writes).
    security: [{ bearer: [] }, { session: [] }],
    components: {
      schemas: components.schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token tth_… from `tether token create`' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'tether_session',
          description: 'set by a one-time sign-in link',
        },
      },
    },
  };
}

/**
 * The generic command route, once per public command (its own path, operation id and data schema),
 * and once at its own path for every other entity and verb, which it refuses.
 */
function commandOperations(route: RouteSpec, components: Components) {
  const perCommand = publicCommands().map(({ entity, verb, contract, application }) => {
    const schema = CommandRequest.extend({ data: contract.data });
    components.name(schema, `${cap(entity)}${cap(verb)}Command`);
    // As the gateway answers: 201 for an entity verb that creates; an application command answers 200 here.
    const creates = contract.creates === true && !application;
    return {
      operationId: `${entity}.${verb}`,
      route: {
        ...route,
        path: route.path.replace('{entity}', entity).replace('{verb}', verb),
        summary: contract.summary,
        description: `Also on NATS: request/reply on tether.cmd.${entity}.${verb}.`,
        params: undefined,
        body: { schema, required: true },
        status: creates ? 201 : 200,
      } satisfies RouteSpec,
    };
  });
  const refused = {
    operationId: 'command',
    route: {
      ...route,
      summary: 'Any other entity or verb: refused, nothing written',
      params: z.object({ entity: z.string(), verb: z.string() }),
      description:
        'An unknown entity or verb is UNKNOWN_COMMAND; a verb only tether itself sends (a worker report, a timer) is NOT_ALLOWED with reason INTERNAL_VERB.',
      errors: ['INVALID_COMMAND', 'UNKNOWN_COMMAND', 'NOT_ALLOWED'],
    } satisfies RouteSpec,
    refusesOnly: true,
  };
  return [...perCommand, refused];
}

/** One operation; `refusesOnly` lists no success response (the generic command route for verbs nobody outside may send). */
function operation(
  { operationId, route, refusesOnly }: { operationId: string; route: RouteSpec; refusesOnly?: boolean },
  components: Components,
) {
  const param = (where: 'path' | 'query', shape: z.ZodObject | undefined) =>
    Object.entries(shape?.shape ?? {}).map(([name, s]) => ({
      name,
      in: where,
      required: where === 'path' || !(s as z.ZodType).safeParse(undefined).success,
      schema: components.schema(s as z.ZodType, 'input'),
    }));
  const headers = (route.headers ?? []).map((name) => ({
    name,
    in: 'header',
    required: false,
    schema: { type: 'string' },
    description: requestHeaders[name],
  }));
  // Any request may meet a bug (INTERNAL); a path parameter may be malformed (a bad %-escape, too long:
  // INVALID_COMMAND from the router); the rest are the route's own.
  // Every route but the public ones needs a credential (401), and a rule (or CSRF) may refuse it (403).
  const auth: ErrorCode[] = route.public ? [] : ['UNAUTHENTICATED', 'FORBIDDEN'];
  const errors = [
    ...new Set([
      ...(route.params ? (['INVALID_COMMAND'] as const) : []),
      // An id prefix that starts more than one entity's id.
      ...((route.params && takesIds(Object.keys(route.params.shape))) || Object.hasOwn(BODY_IDS, operationId)
        ? (['AMBIGUOUS_ID'] as const)
        : []),
      ...(route.errors ?? requestErrors),
      ...auth,
      'INTERNAL' as const,
    ]),
  ];
  const statuses = [...new Set(errors.map((c) => HTTP_STATUS[c]))].sort();
  const rejected = () => json(components.schema(commandSchemas.CommandRejected, 'output'));
  return {
    operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.public ? { security: [] } : {}),
    parameters: [...param('path', route.params), ...param('query', route.query), ...headers],
    ...(route.body
      ? { requestBody: { required: route.body.required, content: json(components.schema(route.body.schema, 'input')) } }
      : {}),
    responses: {
      ...(refusesOnly
        ? {}
        : {
            [String(route.status)]: {
              description: `${route.status === 201 ? 'created' : 'ok'}${route.headers?.includes('Idempotency-Key') ? '; a resent Idempotency-Key answers the original result with the same status' : ''}`,
              content: replyContent(route.reply, components),
            },
          }),
      ...Object.fromEntries(
        statuses.map((s) => [
          String(s),
          {
            description: `rejected, nothing written: ${errors.filter((c) => HTTP_STATUS[c] === s).join(' | ')}`,
            content: rejected(),
          },
        ]),
      ),
      // The body limit holds for every request that may carry one, whatever the route reads of it.
      ...(route.method === 'POST'
        ? {
            '413': {
              description: `the body is larger than ${BODY_LIMIT_BYTES} bytes, nothing written: INVALID_COMMAND`,
              content: rejected(),
            },
          }
        : {}),
    },
  };
}

function replyContent(reply: RouteSpec['reply'], components: Components) {
  if (repliesJson(reply)) return json(components.schema(reply, 'output'));
  const events = Object.entries(reply.events ?? {});
  return {
    [reply.contentType]: {
      schema: { type: 'string' },
      // OpenAPI 3.1 cannot type a stream's events; each event's `data` is given here by event name.
      ...(events.length
        ? { 'x-events': Object.fromEntries(events.map(([name, s]) => [name, components.schema(s, 'output')])) }
        : {}),
    },
  };
}

const json = (schema: unknown) => ({ 'application/json': { schema } });
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** components/schemas: every named schema a route uses, each written once and referenced by $ref. */
class Components {
  readonly schemas: Record<string, Json> = {};
  private readonly names = z.registry<{ id: string }>();

  constructor() {
    // Sorted, so a schema exported under two names (ReasonBody = ShareRevokeBody) gets the same one under any loader.
    for (const mod of catalog)
      for (const [name, value] of Object.entries(mod).sort(([a], [b]) => a.localeCompare(b)))
        if (value instanceof z.ZodType && !this.names.has(value)) this.names.add(value, { id: name });
  }

  name(schema: z.ZodType, id: string) {
    this.names.add(schema, { id });
  }

  /** The JSON Schema of `schema` as the document uses it: a $ref for a named schema, else inline. */
  schema(schema: z.ZodType, io: Io): Json {
    const {
      $schema: _drop,
      $defs = {},
      ...root
    } = z.toJSONSchema(schema, {
      io,
      unrepresentable: 'any',
      metadata: this.names,
    }) as Json & { $defs?: Record<string, Json> };
    for (const [id, def] of Object.entries($defs)) this.add(id, refs(def) as Json);
    return refs(root) as Json;
  }

  private add(id: string, def: Json) {
    const known = this.schemas[id];
    if (known && JSON.stringify(known) !== JSON.stringify(def))
      throw new Error(`schema ${id} differs between requests and replies; export its input form under another name`);
    this.schemas[id] = def;
  }
}

/** $defs references as components references. */
function refs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(refs);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' ? v.replace('#/$defs/', '#/components/schemas/') : refs(v),
    ]),
  );
}
