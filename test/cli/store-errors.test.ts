/**
 * Every command that opens the store says why it cannot, as `serve` does: one line naming the
 * place, the cause and what to do, exit code 1 — never a raw EEXIST or SQLite's "file is not
 * a database". `ingest` says the same of an input file it cannot read.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, runCli } from '../support/cli.ts';

function assertOneLine(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\b(EEXIST|ENOTDIR|EACCES|ENOENT|EISDIR|SQLITE_[A-Z_]+)\b|file is not a database|\n\s+at /);
}

describe('commands that open the store: errors a person understands', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-open-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--data-dir and --database-url together: a usage error, nothing opened', async () => {
    const r = await runCli(['tenants', 'list', '--data-dir', join(dir, 'both'), '--database-url', 'postgres://127.0.0.1:1/db']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'logwarden: --data-dir and --database-url name two stores: give one (the embedded SQLite store, or PostgreSQL)\n');
    assert.ok(!existsSync(join(dir, 'both')));
  });

  it('a data directory that is a file', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const list = await runCli(['tenants', 'list', '--data-dir', file]);
    assertOneLine(list, new RegExp(`^logwarden: the data directory ${file} is a file, not a directory; use --data-dir`));
    const ingest = await runCli(['ingest', '-', '--tenant', '1', '--data-dir', join(file, 'data')], { input: '{}\n' });
    assertOneLine(ingest, new RegExp(`^logwarden: cannot create the data directory ${join(file, 'data')}: ${file} is a file; use --data-dir`));
  });

  it('a database file that is not a database', async () => {
    const data = join(dir, 'garbage');
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(join(data, 'logwarden.db'), 'this is not an SQLite database '.repeat(200));
    chmodSync(join(data, 'logwarden.db'), 0o644);
    const r = await runCli(['keys', 'list', '--tenant', '1', '--data-dir', data]);
    assertOneLine(r, new RegExp(`^logwarden: ${join(data, 'logwarden.db')} is not a readable logwarden database .*restore it from a backup`));
    // Not the store's file: left as it was (its mode is not tightened as a store file's would be).
    assert.equal(statSync(join(data, 'logwarden.db')).mode & 0o777, 0o644);
  });

  it('ingest: an input that is missing or a directory, before any data directory is made', async () => {
    const data = join(dir, 'never-made');
    const missing = join(dir, 'events.ndjson');
    const r = await runCli(['ingest', missing, '--tenant', '1', '--data-dir', data]);
    assertOneLine(r, new RegExp(`^logwarden: cannot read ${missing}: no such file$`));
    const folder = await runCli(['ingest', dir, '--tenant', '1', '--data-dir', data]);
    assertOneLine(folder, new RegExp(`^logwarden: cannot read ${dir}: it is a directory; give an NDJSON file, or - for standard input$`));
    assert.ok(!existsSync(data), 'no data directory was made');
  });
});
