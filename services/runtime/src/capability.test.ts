import { describe, expect, it } from 'vitest';
import type { ApplicationCommand } from './bus/dispatcher.ts';
import { composeCapabilities, type Capability, type Precondition } from './capability.ts';

const noop = async () => undefined;
const never: ApplicationCommand = async () => {
  throw new Error('not called');
};

function capability(name: string, log: string[], own: Partial<Capability> = {}): Capability {
  return {
    name,
    commands: {},
    preconditions: {},
    reactors: [1, 2].map((n) => ({
      start: async () => void log.push(`start ${name}${n}`),
      stop: async () => void log.push(`stop ${name}${n}`),
    })),
    routes: {},
    stop: async () => void log.push(`close ${name}`),
    ...own,
  };
}

const records = () => ({
  commands: {} as Record<string, ApplicationCommand>,
  preconditions: {} as Record<string, Precondition>,
});

describe('composeCapabilities', () => {
  it('registers commands, preconditions and routes at once, before any reactor runs', () => {
    const log: string[] = [];
    const into = records();
    const ensure = never;
    const composed = composeCapabilities(
      [
        capability('a', log, { commands: { 'session.ensure': ensure }, routes: { 'lanes.get': noop } }),
        capability('b', log, { preconditions: { 'share.request': noop }, routes: { 'shares.get': noop } }),
      ],
      into,
    );
    expect(into.commands).toEqual({ 'session.ensure': ensure });
    expect(Object.keys(into.preconditions)).toEqual(['share.request']);
    expect(Object.keys(composed.routes)).toEqual(['lanes.get', 'shares.get']);
    expect(log).toEqual([]);
  });

  it('starts capability by capability in order, and stops in reverse, each after its reactors', async () => {
    const log: string[] = [];
    const composed = composeCapabilities([capability('a', log), capability('b', log)], records());
    await composed.start();
    await composed.stop();
    expect(log).toEqual([
      'start a1',
      'start a2',
      'start b1',
      'start b2',
      'stop b1',
      'stop b2',
      'close b',
      'stop a1',
      'stop a2',
      'close a',
    ]);
  });

  it('refuses two capabilities claiming one command, precondition or operation', () => {
    for (const own of [
      { commands: { 'session.ensure': never } },
      { preconditions: { 'x.y': noop } },
      { routes: { 'shares.get': noop } },
    ]) {
      expect(() => composeCapabilities([capability('a', [], own), capability('b', [], own)], records())).toThrow(
        /capability b: "(session\.ensure|x\.y|shares\.get)" is already registered/,
      );
    }
  });

  it('refuses an application command the contracts do not declare (it would be public, yet undocumented and untested)', () => {
    expect(() =>
      composeCapabilities([capability('a', [], { commands: { 'lane.teleport': never } })], records()),
    ).toThrow(/capability a: application command "lane.teleport" is not declared/);
  });
});
