import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, isGroup, type Leaf } from '@tether/cli';
import { TETHER_BIN, TetherProcess, gitRepo } from '../harness/index.ts';

const CLI = fileURLToPath(new URL('../../../services/cli/', import.meta.url));
const tether = async (args: string[], env: Record<string, string> = {}) => {
  const r = await execa(process.execPath, [TETHER_BIN, ...args], { env: { ...process.env, ...env }, reject: false });
  return { ...r, json: () => JSON.parse(r.stdout) };
};

/** The bundle files and packages a bundle file loads before any of its code runs: its static imports, followed through chunks. */
function loadedBy(file: string, files = new Set<string>(), packages = new Set<string>()) {
  if (files.has(file)) return { files, packages };
  files.add(file);
  for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?"([^"]+)";/gm)) {
    if (spec!.startsWith('.')) loadedBy(join(file, '..', spec!), files, packages);
    else packages.add(spec!);
  }
  return { files, packages };
}
const packagesLoadedBy = (file: string) => loadedBy(file).packages;
/** True when one of the bundle files `file` loads was bundled from `source` (esbuild marks each module with its path). */
const bundles = (file: string, source: string) =>
  [...loadedBy(file).files].some((f) => readFileSync(f, 'utf8').includes(`\n// ${source}`));
const chunk = (name: string) => {
  const f = readdirSync(join(CLI, 'dist', 'chunks')).find((c) => c.startsWith(`${name}-`) && c.endsWith('.js'));
  return join(CLI, 'dist', 'chunks', f!);
};

describe('tether help, version and mistakes', () => {
  it('--help and --version print without loading any command module', async () => {
    const help = await tether(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^\s+lane\s+lanes: a git worktree per piece of work/m);
    expect(help.stdout).toMatch(/^\s+completion <shell>/m);
    const { version } = JSON.parse(readFileSync(join(CLI, 'package.json'), 'utf8'));
    expect((await tether(['--version'])).stdout).toBe(version);
    expect((await tether(['help', 'share'])).stdout).toMatch(
      /^\s+grant-write \[options\] <share-id> <participant-id>/m,
    );
    expect([...packagesLoadedBy(join(CLI, 'dist', 'main.js'))].sort()).toEqual(['commander', 'node:fs']);
  });

  it('a client command loads its HTTP client and the settings schema (zod): not the server', () => {
    const loaded = packagesLoadedBy(chunk('control-plane'));
    // TETHER_URL, TETHER_ACTOR, … are parsed by the one config schema, with zod (bundled: see build.mjs).
    expect(bundles(chunk('control-plane'), 'contracts/src/config/settings.ts')).toBe(true);
    expect(bundles(chunk('control-plane'), 'node_modules/zod/')).toBe(true);
    for (const server of ['fastify', 'pino', 'xstate', '@nats-io/jetstream', 'ws'])
      expect(loaded).not.toContain(server);
    expect(packagesLoadedBy(chunk('up'))).toContain('fastify');
  });

  it('a client command refuses a bad CLI setting with INVALID_CONFIG; a bad server-only one is not its business', async () => {
    const bad = await tether(['lane', 'list'], { TETHER_PORT: 'abc', TETHER_URL: '' });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('error INVALID_CONFIG');
    expect(bad.stderr).toContain('TETHER_PORT="abc"');
    const serverOnly = await tether(['lane', 'list'], {
      TETHER_SHARE_READY_MS: 'abc',
      TETHER_URL: 'http://127.0.0.1:1',
      TETHER_TOKEN: 'tth_any', // a token, so the call is tried
    });
    expect(serverOnly.stderr).toContain('error UNAVAILABLE: cannot reach tether at http://127.0.0.1:1');
  });

  it('answers a typo with a suggestion, as a TetherError with exit code 2', async () => {
    const cmd = await tether(['lnae']);
    expect(cmd.exitCode).toBe(2);
    expect(cmd.stderr).toBe("error INVALID_COMMAND: Unknown command 'lnae' (did you mean lane?); see `tether --help`");
    const sub = await tether(['lane', 'craete', '--json']);
    expect(sub.exitCode).toBe(2);
    expect(JSON.parse(sub.stderr)).toEqual({
      ok: false,
      error: {
        code: 'INVALID_COMMAND',
        message: "Unknown command 'craete' (did you mean create?); see `tether lane --help`",
      },
    });
    expect((await tether(['lane', 'create', '--nmae', 'x'])).stderr).toContain(
      "Unknown option '--nmae' (did you mean --name?); see `tether lane create --help`",
    );
    const none = await tether([]);
    expect(none.exitCode).toBe(2);
    expect(none.stdout).toMatch(/^Usage: tether \[options\] \[command\]/);
    const bare = await tether(['lane']);
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toMatch(/INVALID_COMMAND: `tether lane` needs a subcommand: create, list, show/);
    // `tether share` alone shares (see share-now-cli.test.ts), so a word after it is a subcommand, maybe misspelt.
    expect((await tether(['share', 'invte', 'sh-1'])).stderr).toBe(
      "error INVALID_COMMAND: Unknown command 'invte' for 'tether share' (did you mean invite?); see `tether share --help`",
    );
    expect((await tether(['completion', 'fish'])).stderr).toMatch(/INVALID_COMMAND: .*Allowed choices are bash, zsh/);
  });

  it('says what to run when the bundle is missing, instead of running anything', async () => {
    const bin = join(mkdtempSync(join(tmpdir(), 'tether-nobundle-')), 'bin', 'tether.js');
    mkdirSync(join(bin, '..'));
    copyFileSync(TETHER_BIN, bin);
    const r = await execa(process.execPath, [bin, '--help'], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /error UNAVAILABLE: the tether CLI is not built \(no .*dist\/main\.js\); run `npm run build:cli`/,
    );
  });
});

/** Every leaf command of the table with its words ("events tail"), flags (its group's too) and placeholder arguments. */
const leaves = Object.entries(COMMANDS).flatMap(([name, e]) =>
  isGroup(e)
    ? Object.entries(e.subcommands).map(([sub, l]) => ({
        words: [name, sub],
        leaf: l,
        flags: [...(e.flags ?? []), ...(l.flags ?? [])],
      }))
    : [{ words: [name], leaf: e as Leaf, flags: [...(e.flags ?? [])] }],
);

describe('numeric flags', () => {
  const numeric = leaves.flatMap(({ words, leaf, flags }) =>
    flags
      .filter(([, , whole]) => whole)
      .map(([spec, , whole]) => ({
        name: `${words.join(' ')} ${spec.split(' ')[0]}`,
        command: [...words, ...(leaf.args ?? []).map(() => 'x')], // placeholders for required arguments
        flag: spec.split(' ')[0]!,
        // Were the value not checked, the command would print what is there and stop, not follow forever.
        rest: flags.some(([s]) => s === '--no-follow') ? ['--no-follow'] : [],
        bad: [
          'abc',
          '1.5',
          '-3',
          String(whole!.min - 1),
          ...(whole!.max === undefined ? [] : [String(whole!.max + 1)]),
        ],
      })),
  );

  it('the table declares the ones every command has', () => {
    expect(numeric.map((n) => n.name).sort()).toEqual([
      'audit tail --last',
      'events tail --from-seq',
      'events tail --last',
      'replay --to-seq',
      'up --port',
    ]);
  });

  // Checked while the command line is parsed: nothing is opened, so nothing can hang (no tether, no NATS here).
  it.each(numeric)('$name: a bad value is INVALID_COMMAND naming the flag, at once', async (n) => {
    const dead = { NATS_URL: 'nats://127.0.0.1:9', TETHER_URL: 'http://127.0.0.1:9' };
    const runs = await Promise.all(
      n.bad.map((value) =>
        execa(process.execPath, [TETHER_BIN, ...n.command, `${n.flag}=${value}`, ...n.rest], {
          env: { ...process.env, ...dead },
          reject: false,
          timeout: 20_000,
        }),
      ),
    );
    for (const [i, r] of runs.entries()) {
      expect(r.timedOut).toBe(false);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(`error INVALID_COMMAND: ${n.flag} takes a whole number`);
      expect(r.stderr).toContain(`got ${JSON.stringify(n.bad[i])}`);
    }
  });
});

describe('tether completion', () => {
  it('bash: completes commands, subcommands, flags and argument values in a real bash', async () => {
    const script = join(mkdtempSync(join(tmpdir(), 'tether-completion-')), 'tether.bash');
    writeFileSync(script, (await tether(['completion', 'bash'])).stdout);
    const complete = async (...words: string[]) => {
      const line = words.map((w) => `'${w}'`).join(' ');
      const r = await execa('bash', [
        '-c',
        `source ${script}; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _tether; echo "\${COMPREPLY[*]}"`,
      ]);
      return r.stdout;
    };
    expect(await complete('tether', 'la')).toBe('lane');
    expect(await complete('tether', 'do')).toBe('down');
    expect(await complete('tether', 'lane', '')).toBe('create list show attach cleanup');
    expect(await complete('tether', 'share', 're')).toBe('revoke revoke-write');
    expect(await complete('tether', 'lane', 'create', '--na')).toBe('--name');
    expect(await complete('tether', 'up', '--')).toBe('--port --bind --no-supervise --json --help');
    expect(await complete('tether', 'completion', '')).toBe('bash zsh');
    expect((await execa('bash', ['-c', `source ${script}; complete -p tether`])).stdout).toBe(
      'complete -F _tether tether',
    );
  });

  it('zsh: a script that registers itself with compdef', async () => {
    const r = await tether(['completion', 'zsh']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^#compdef tether\n/);
    expect(r.stdout).toContain("'lane') offer=('create:create a lane' 'list:every lane of the workspace'");
    expect(r.stdout).toContain('compdef _tether tether');
  });
});

describe('per-command help against a running tether', () => {
  let up: TetherProcess;
  let env: Record<string, string>;
  beforeAll(async () => {
    const home = mkdtempSync(join(tmpdir(), 'tether-help-'));
    env = { TETHER_HOME: home, TETHER_NO_CHILD_NATS: '1', NATS_URL: '', TETHER_WORKSPACES: `ws1=${await gitRepo()}` };
    up = await TetherProcess.start(env);
    Object.assign(env, { TETHER_URL: up.url, TETHER_WORKSPACE: 'ws1' });
  });
  afterAll(() => up?.kill());

  it('prints the help and never runs the command', async () => {
    const help = await tether(['lane', 'create', '--help', '--name', 'x'], env);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tether lane create \[options\]\n/);
    expect(help.stdout).toMatch(/--name <name>\s+display name \(required\)/);
    expect((await tether(['lane', 'list', '--json'], env)).json().items).toEqual([]);
    expect((await tether(['lane', 'create', '--name', 'x', '--json'], env)).exitCode).toBe(0);
    expect((await tether(['lane', 'list', '--json'], env)).json().items).toHaveLength(1);
  });
});
