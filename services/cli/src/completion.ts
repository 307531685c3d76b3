import { isGroup, type Arg, type Entry, type Flag, type Leaf } from './command-shapes.ts';

type Commands = Readonly<Record<string, Entry>>;

/** A word the shell may offer and what it means (zsh shows the meaning; bash only the word). */
type Word = readonly [word: string, help: string];

const GLOBAL: Word[] = [
  ['--json', 'print JSON'],
  ['--help', 'help for this command'],
];
const flagWords = (flags: readonly Flag[]): Word[] => flags.map(([spec, help]) => [spec.split(' ')[0]!, help]);
const choices = (arg: Arg | undefined): Word[] =>
  typeof arg === 'object' ? arg.choices.map((c) => [c, `${arg.spec} ${c}`]) : [];

/**
 * What to offer, from the command table: `next` by the words typed so far ("" → commands, "lane" → its
 * subcommands), `flags` by a case pattern for the command being typed ("lane create", "up "*).
 */
function completionTable(commands: Commands) {
  const top: Word[] = Object.entries(commands).map(([name, e]) => [name, e.summary]);
  const next = new Map<string, Word[]>([
    ['', [...top, ['help', 'help for a command']]],
    ['help', top],
  ]);
  const flags = new Map<string, Word[]>();
  const leaf = (pattern: string, typed: string, l: Leaf, shared: readonly Flag[] = []) => {
    flags.set(pattern, [...flagWords([...shared, ...(l.flags ?? [])]), ...GLOBAL]);
    if (choices(l.args?.[0]).length) next.set(typed, choices(l.args?.[0]));
  };
  for (const [name, e] of Object.entries(commands)) {
    if (!isGroup(e)) {
      leaf(`'${name} '*`, name, e);
      continue;
    }
    next.set(
      name,
      Object.entries(e.subcommands).map(([sub, l]) => [sub, l.summary]),
    );
    for (const [sub, l] of Object.entries(e.subcommands)) leaf(`'${name} ${sub}'`, `${name} ${sub}`, l, e.flags);
    if (e.bare) flags.set(`'${name}'`, [...flagWords([...(e.flags ?? []), ...(e.bare.flags ?? [])]), ...GLOBAL]);
  }
  return { next, flags };
}

const sq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** How one shell spells the parts of the completion function that differ. */
interface Shell {
  /** True when the word being completed is a flag. */
  typingFlag: string;
  /** The command and subcommand typed ("lane create"), matched against the flags' patterns. */
  command: string;
  /** Every word typed before the current one, matched against `next`. */
  typed: string;
  /** The assignment that offers these words. */
  offer(words: Word[]): string;
}

/** The body shared by both shells: flags for the command being typed, else what may come next. */
function dispatch(shell: Shell, commands: Commands): string {
  const { next, flags } = completionTable(commands);
  const cases = (m: Map<string, Word[]>, pattern: (key: string) => string) =>
    [...m].map(([key, words]) => `    ${pattern(key)}) ${shell.offer(words)} ;;`).join('\n');
  return `  if ${shell.typingFlag}; then
    case "${shell.command}" in
${cases(flags, (k) => k)}
    esac
  else
    case "${shell.typed}" in
${cases(next, sq)}
    esac
  fi`;
}

const bash = (commands: Commands) => `# tether completion for bash: eval "$(tether completion bash)", e.g. in ~/.bashrc
_tether() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words=''
${dispatch(
  {
    typingFlag: '[[ $cur == -* ]]',
    command: `\${COMP_WORDS[1]} \${COMP_WORDS[2]}`,
    typed: `\${COMP_WORDS[*]:1:COMP_CWORD-1}`,
    offer: (ws) => `words=${sq(ws.map(([w]) => w).join(' '))}`,
  },
  commands,
)}
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _tether tether
`;

const zsh = (commands: Commands) => `#compdef tether
# tether completion for zsh: source <(tether completion zsh), e.g. in ~/.zshrc after compinit
_tether() {
  local -a offer
${dispatch(
  {
    typingFlag: '[[ $PREFIX == -* ]]',
    command: '$words[2] $words[3]',
    typed: `\${(j: :)words[2,CURRENT-1]}`,
    offer: (ws) => `offer=(${ws.map(([w, h]) => sq(`${w.replaceAll(':', '\\:')}:${h}`)).join(' ')})`,
  },
  commands,
)}
  (( $#offer )) && _describe tether offer
}
if (( $+functions[compdef] )); then compdef _tether tether; fi
`;

/** `tether completion bash|zsh`: the script; it offers words from this table, without running tether. */
export function printCompletion(shell: string | undefined, commands: Commands): number {
  process.stdout.write(shell === 'zsh' ? zsh(commands) : bash(commands));
  return 0;
}
