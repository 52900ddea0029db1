/**
 * Every command teaches by example: the help of each command and command group (and of
 * `logwarden` itself) holds an "Example". Rendered in process from the real program.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';

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
    // The walk saw the whole tree, including the commands that once lacked an example.
    for (const name of ['logwarden tenants list', 'logwarden keys list', 'logwarden keys revoke', 'logwarden sync', 'logwarden seed']) {
      assert.ok(names.includes(name), `${name} was not visited: ${names.join(', ')}`);
    }
  });
});
