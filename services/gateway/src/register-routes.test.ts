import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerRoutes, unserved } from './register-routes.ts';

/** Lets every request through (authentication has its own tests): counts the calls. */
let checked = 0;
const open = async () => {
  checked++;
};

describe('registerRoutes', () => {
  it('serves each handler at its operation method and path, with the path parameters', async () => {
    const app = Fastify();
    registerRoutes(
      app,
      {
        'participants.kick': async (req, reply) => reply.status(202).send({ ...req.params, body: req.body }),
        'shares.get': async (req) => ({ got: req.params.share }),
      },
      open,
    );
    const kick = await app.inject({
      method: 'POST',
      url: '/v1/shares/s1/participants/p1/kick',
      payload: { reason: 'x' },
    });
    expect([kick.statusCode, kick.json()]).toEqual([202, { share: 's1', participant: 'p1', body: { reason: 'x' } }]);
    expect((await app.inject({ method: 'GET', url: '/v1/shares/s2' })).json()).toEqual({ got: 's2' });
    expect((await app.inject({ method: 'GET', url: '/v1/shares/s1/participants/p1/kick' })).statusCode).toBe(404);
  });

  it('authenticates every operation but the public ones, before the handler runs', async () => {
    const app = Fastify();
    const refuse = async () => {
      throw Object.assign(new Error('no'), { statusCode: 401 });
    };
    registerRoutes(app, { 'shares.get': async () => ({ ran: true }), healthz: async () => ({ ok: true }) }, refuse);
    expect((await app.inject({ method: 'GET', url: '/v1/shares/s1' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
    const before = checked;
    registerRoutes(Fastify(), { healthz: async () => ({}) }, open);
    expect(checked).toBe(before);
  });

  it('refuses a handler for an operation the route table does not have', () => {
    const unknown = { 'shares.explode': async () => ({}) } as Parameters<typeof registerRoutes>[1];
    expect(() => registerRoutes(Fastify(), unknown, open)).toThrow(
      'no route in the route table for operation "shares.explode"',
    );
  });

  it('names the operations of the route table that nobody serves', () => {
    const served = registerRoutes(Fastify(), { 'shares.get': async () => ({}) }, open);
    expect(unserved(served)).toContain('shares.list');
    expect(unserved(served)).not.toContain('shares.get');
  });
});
