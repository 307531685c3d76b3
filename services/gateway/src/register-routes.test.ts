import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerRoutes, unserved } from './register-routes.ts';

describe('registerRoutes', () => {
  it('serves each handler at its operation method and path, with the path parameters', async () => {
    const app = Fastify();
    registerRoutes(app, {
      'participants.kick': async (req, reply) => reply.status(202).send({ ...req.params, body: req.body }),
      'shares.get': async (req) => ({ got: req.params.share }),
    });
    const kick = await app.inject({
      method: 'POST',
      url: '/v1/shares/s1/participants/p1/kick',
      payload: { reason: 'x' },
    });
    expect([kick.statusCode, kick.json()]).toEqual([202, { share: 's1', participant: 'p1', body: { reason: 'x' } }]);
    expect((await app.inject({ method: 'GET', url: '/v1/shares/s2' })).json()).toEqual({ got: 's2' });
    expect((await app.inject({ method: 'GET', url: '/v1/shares/s1/participants/p1/kick' })).statusCode).toBe(404);
  });

  it('refuses a handler for an operation the route table does not have', () => {
    const unknown = { 'shares.explode': async () => ({}) } as Parameters<typeof registerRoutes>[1];
    expect(() => registerRoutes(Fastify(), unknown)).toThrow(
      'no route in the route table for operation "shares.explode"',
    );
  });

  it('names the operations of the route table that nobody serves', () => {
    const served = registerRoutes(Fastify(), { 'shares.get': async () => ({}) });
    expect(unserved(served)).toContain('shares.list');
    expect(unserved(served)).not.toContain('shares.get');
  });
});
