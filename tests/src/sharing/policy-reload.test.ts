import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditList, PolicyView, type PolicyFile } from '@tether/contracts';
import { api, eventually, runCli, useControlPlane } from '../harness/index.ts';
import { as, createShare, runningTerminal } from './helpers.ts';

// The share policy is reloaded when its file changes (an editor's write-and-rename included) and on an
// operator's command; a bad file keeps the policy in force and says why; every load is audited.

const dir = mkdtempSync(join(tmpdir(), 'tether-policy-reload-'));
const file = join(dir, 'policy.json');
/** Writes the file the way editors do: a new file renamed over the old one. */
const save = (text: string) => {
  writeFileSync(join(dir, '.policy.json.swp'), text);
  renameSync(join(dir, '.policy.json.swp'), file);
};
const rules = (...ids: ('read' | 'write')[]): string =>
  JSON.stringify({
    rules: ids.map((a) => ({ id: `people-${a}`, effect: 'allow', actors: ['human:*'], access: [a] })),
  } satisfies PolicyFile);
save(rules('read'));

const cp = useControlPlane({ TETHER_SHARE_POLICY: file });
const policy = async () => PolicyView.parse((await api(cp, 'GET', '/v1/policy')).body);
type Refused = { error: { code: string; reason?: string; message: string } };

describe('share policy reload', () => {
  it('follows its file, refuses a bad one with why, reloads on command (operators only), and audits each load', async () => {
    expect(await policy()).toMatchObject({
      file,
      source: 'setting',
      rule_ids: ['people-read'],
      trigger: 'start',
      watching: file,
    });
    const { term } = await runningTerminal(cp);
    const write = () => createShare(cp, 'human:alice', { terminal_id: term.terminal_id, access: 'write' });
    expect((await write()).body.error?.message).toMatch(/no rule allows human:alice to share terminal .* read-write/);

    // An editor saves a write rule: the next write share passes.
    save(rules('read', 'write'));
    await eventually(policy, (p) => p.rule_ids.includes('people-write'));
    expect((await policy()).trigger).toBe('file-changed');
    expect((await write()).status).toBe(201);

    // A broken file: the rules in force stay, the refusal says why.
    save('{"rules": [');
    const refused = await eventually(policy, (p) => p.last_refusal !== null);
    expect(refused.last_refusal).toMatchObject({
      file,
      trigger: 'file-changed',
      reason: expect.stringMatching(/is not valid JSON/),
    });
    expect(refused.rule_ids).toEqual(['people-read', 'people-write']);
    const reload = await api<Refused>(cp, 'POST', '/v1/policy/reload', {});
    expect(reload.status).toBe(400);
    expect(reload.body.error).toMatchObject({ code: 'INVALID_COMMAND', reason: 'POLICY_INVALID' });
    expect(reload.body.error.message).toMatch(
      /not valid JSON.*the policy in force stays: .*rules people-read, people-write/,
    );

    // Members may neither look nor reload; an operator's reload puts the fixed file in force.
    for (const [method, path] of [
      ['GET', '/v1/policy'],
      ['POST', '/v1/policy/reload'],
    ] as const)
      expect(
        (await as<Refused>(cp, 'human:alice', method, path, method === 'POST' ? {} : undefined)).body.error.code,
      ).toBe('FORBIDDEN');
    writeFileSync(file, rules('read'));
    const cli = await runCli(cp, ['policy', 'reload']);
    expect(cli.exitCode).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`policy +${file} \\(setting\\), loaded .* \\((command|file-changed)\\)`));
    await eventually(policy, (p) => p.rule_ids.join() === 'people-read');
    expect((await runCli(cp, ['policy', 'show'])).stdout).toMatch(/people-read +allow by human:\* read/);

    // Each load and the refusal are in the audit trail: who, which file, its rule ids.
    const audit = await eventually(
      async () => AuditList.parse((await api(cp, 'GET', '/v1/audit?entity=policy&limit=100')).body).items,
      (items) => items.some((r) => r.data.trigger === 'command' && r.action === 'policy.loaded'),
    );
    expect(audit[0]).toMatchObject({
      action: 'policy.loaded',
      data: { file, ruleIds: ['people-read'], trigger: 'start' },
    });
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'policy.refused',
        actor: { kind: 'human', id: 'ops' },
        data: expect.objectContaining({ trigger: 'command' }),
      }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'policy.loaded',
        actor: { kind: 'system', id: 'share-policy' },
        data: expect.objectContaining({ ruleIds: ['people-read', 'people-write'] }),
      }),
    );
  });
});
