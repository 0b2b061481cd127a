// The one place a remote command line is built: each argv element POSIX-quoted on its own. Proven
// here by handing the quoted line to real shells (bash and dash) and getting the words back intact.
import { execFileSync } from 'node:child_process';
import { buildRemoteCommand, describeCommand, lastLines, OutputTail, quoteArg, quoteArgv } from '../../../src/integrations/ssh';
import { HOSTILE } from './hostile-strings';

/** What a shell makes of the quoted line: the words it passes on, NUL-separated by printf. */
function wordsAfterShell(shell: string, argv: string[]): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${quoteArgv(argv)}`]);
  return out.toString('utf8').split('\0').slice(0, -1);
}

test('quoteArg: single quotes, with each embedded quote closed, escaped and reopened', () => {
  expect(quoteArg('plain')).toBe(`'plain'`);
  expect(quoteArg("it's")).toBe(`'it'\\''s'`);
  expect(quoteArg('')).toBe(`''`);
  expect(quoteArg('$(x)')).toBe(`'$(x)'`);
  expect(quoteArgv(['echo', 'a b'])).toBe(`'echo' 'a b'`);
  expect(() => quoteArg('nul\0byte')).toThrow(/NUL/);
  expect(() => quoteArgv([])).toThrow(/at least one word/);
});

test.each(['/bin/bash', '/bin/sh'])('%s receives every hostile string as exactly one word, unchanged', (shell) => {
  expect(wordsAfterShell(shell, HOSTILE)).toEqual(HOSTILE);
  for (const word of HOSTILE) expect(wordsAfterShell(shell, [word])).toEqual([word]);
});

test('the supervised command line carries argv through two shells unchanged, and environment values never appear on it', () => {
  const secret = 'hunter2 $(whoami) \'"';
  const command = buildRemoteCommand({ argv: ['printf', '%s\\0', ...HOSTILE] }, { DB_PASSWORD: secret }, true, 'abcdef0123456789');
  expect(command.commandLine).not.toContain('hunter2');
  expect(command.preamble.toString()).toBe(`DB_PASSWORD=${secret}\0`);
  expect(command.commandLine).toContain('opsflow-abcdef0123456789');
  expect(command.stopCommandLine).toBe('exec pkill -TERM -f -- opsflow-abcdef0123456789');
  // Run it as sshd would: the login shell gets the command line with -c, stdin carries the env.
  const out = execFileSync('/bin/bash', ['-c', command.commandLine], { input: command.preamble });
  expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(HOSTILE);
  const env = execFileSync(
    '/bin/bash',
    ['-c', buildRemoteCommand({ argv: ['printenv', 'DB_PASSWORD'] }, { DB_PASSWORD: secret }).commandLine],
    { input: command.preamble },
  );
  expect(env.toString()).toBe(secret + '\n');
});

test('a script gets its values as positional arguments and the caller stdin after its own text', () => {
  const command = buildRemoteCommand({ script: 'printf "%s|" "$@"; read -r first; echo "first=$first"; cat', args: ['$(id)', "a'b"] });
  const out = execFileSync('/bin/bash', ['-c', command.commandLine], {
    input: Buffer.concat([command.preamble, Buffer.from('one\ntwo\nthree\n')]),
  });
  expect(out.toString()).toBe("$(id)|a'b|first=one\ntwo\nthree\n");
});

test('bad environment names and NUL bytes are refused before anything runs', () => {
  expect(() => buildRemoteCommand({ argv: ['true'] }, { 'BAD-NAME': 'x' })).toThrow(/not a valid shell name/);
  expect(() => buildRemoteCommand({ argv: ['true'] }, { 'A=B': 'x' })).toThrow(/not a valid shell name/);
  expect(() => buildRemoteCommand({ argv: ['true'] }, { OK: 'a\0b' })).toThrow(/NUL/);
  expect(() => buildRemoteCommand({ argv: ['true'] }, { OK: 'x' }, false)).toThrow(/supervisor/);
  expect(buildRemoteCommand({ argv: ['echo', "it's"] }, {}, false).commandLine).toBe(`'echo' 'it'\\''s'`);
});

test('descriptions never show environment values and quote what a shell would', () => {
  expect(describeCommand({ argv: ['docker', 'compose', 'up', '-d'], env: { TOKEN: 'dop_v1_secret' } })).toBe(
    'TOKEN=[redacted] docker compose up -d',
  );
  expect(describeCommand({ argv: ['echo', 'a b', 'x\ny'] })).toBe(`echo 'a b' 'x\\ny'`);
  expect(describeCommand({ script: 'echo hi', label: 'bootstrap' })).toBe('bash -s (bootstrap)');
  expect(describeCommand({ argv: ['x'.repeat(500)] }).length).toBe(200);
});

test('OutputTail keeps only the last bytes, counts them all, and drops a character cut in half', () => {
  const tail = new OutputTail(10);
  for (let i = 0; i < 1000; i++) tail.push(Buffer.from(`line ${i}\n`));
  expect(tail.total).toBe(8890);
  expect(tail.buffer().length).toBe(10);
  expect(tail.text()).toBe('\nline 999\n');
  const utf = new OutputTail(4);
  utf.push(Buffer.from('aaé€')); // é is 2 bytes, € 3: the last 4 bytes start inside é
  expect(utf.text()).toBe('€');
  const big = new OutputTail(3);
  big.push(Buffer.from('0123456789'));
  expect(big.text()).toBe('789');
  expect(lastLines('a\n\nb\r\nc\n' + 'x'.repeat(300), 3, 10)).toEqual(['b', 'c', 'xxxxxxxxx…']);
});
