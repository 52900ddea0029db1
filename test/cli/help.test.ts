/**
 * Every command teaches by example: the help of each command and command group (and of
 * `logwarden` itself) holds an "Example". Rendered in process from the real program. Help
 * asked for is a success; help shown for want of a command is a usage error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';
import { runCli, runCliProcess } from '../support/cli.ts';

function helpOf(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

function* allCommands(cmd: Command, path: string[] = []): Generator<[string, Command]> {
  yield [['logwarden', ...path].join(' '), cmd];
  for (const sub of cmd.commands) yield* allCommands(sub, [...path, sub.name()]);
}

describe('command help', () => {
  it('every command, subcommand and group shows an example', () => {
    const names: string[] = [];
    for (const [name, cmd] of allCommands(buildProgram())) {
      names.push(name);
      const help = helpOf(cmd);
      assert.match(help, /^Usage: /m, `${name}: help rendered`);
      assert.match(help, /\nExamples?:\n {2}\S/, `${name} --help has no example`);
    }
    // Every option a command requires says so.
    for (const [name, cmd] of allCommands(buildProgram())) {
      for (const option of cmd.options.filter((o) => o.mandatory)) {
        assert.match(helpOf(cmd), new RegExp(`${option.long}\\b.*\\srequired: `), `${name} ${option.long} is not marked required`);
      }
    }
    // The walk saw the whole tree, including the commands that once lacked an example.
    for (const name of ['logwarden tenants list', 'logwarden keys list', 'logwarden keys revoke', 'logwarden sync', 'logwarden seed']) {
      assert.ok(names.includes(name), `${name} was not visited: ${names.join(', ')}`);
    }
  });

  it('help asked for exits 0 on stdout; a group given no command shows its help on stderr and exits 2 (a usage error)', async () => {
    for (const args of [['--help'], ['help'], ['keys', '--help'], ['help', 'keys']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: logwarden/, args.join(' '));
    }
    const bogus = await runCli(['help', 'bogus']);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /^logwarden: unknown command 'bogus' \(the commands: serve, tenants, /);
    assert.equal(bogus.stdout, '');
    for (const args of [[], ['keys'], ['tenants'], ['holds']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `logwarden ${args.join(' ')}`);
      assert.match(r.stderr, /^Usage: logwarden/, args.join(' '));
    }
  });

  it('a process warns of a misspelt LOGWARDEN_ variable on stderr, and goes on', async () => {
    const r = await runCliProcess(['--version'], { env: { LOGWARDEN_RETENTON_DAYS: '30' } });
    assert.equal(r.code, 0);
    assert.equal(
      r.stderr,
      'logwarden: warning: LOGWARDEN_RETENTON_DAYS is not a logwarden setting (did you mean LOGWARDEN_RETENTION_DAYS?); it is ignored (settings: README, Configuration)\n',
    );
  });

  it('the help command reaches a subcommand of a group: `help tenants retention` is `tenants retention --help`', async () => {
    const r = await runCli(['help', 'tenants', 'retention']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: logwarden tenants retention \[options\] <tenant-id>/);
  });
});
