import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommanderError } from 'commander';
import { CommandError, InterruptedError, UsageError } from '../src/cli/exit-codes.ts';
import { reportFailure } from '../src/cli/main.ts';
import { ConfigError } from '../src/config.ts';
import { CodedError, ERROR_STATUS, ERRORS, EXIT, INTERNAL_MESSAGE, LogwardenError } from '../src/errors.ts';
import { classify } from '../src/server/error-handler.ts';
import { CorruptSegmentError, DatabasePoolModeError, SchemaTooNewError, StoreInconsistencyError, UnknownTenantError } from '../src/store/store.ts';

/** Runs reportFailure, returning its exit code and what it wrote to stderr. */
function report(err: unknown): { exit: number; stderr: string } {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { exit: reportFailure(err), stderr };
  } finally {
    process.stderr.write = write;
  }
}

const typed: readonly [CodedError, string, number][] = [
  [new UsageError('--limit: not a number'), 'usage', EXIT.usage],
  [new ConfigError(['LOGWARDEN_PORT must be an integer from 0 to 65535 (got "x")']), 'invalid_config', EXIT.usage],
  [new InterruptedError('stopped; run the same command to resume'), 'interrupted', EXIT.interrupted],
  [new CommandError('no such tenant'), 'command_failed', EXIT.failure],
  [new SchemaTooNewError(9, 4), 'schema_too_new', EXIT.failure],
  [new DatabasePoolModeError('set LOGWARDEN_DATABASE_POOL_MODE=transaction'), 'database_pool_mode', EXIT.usage],
  [new UnknownTenantError('555'), 'unknown_tenant', EXIT.failure],
  [new CorruptSegmentError('checksum mismatch', 7), 'corrupt_segment', EXIT.failure],
  [new StoreInconsistencyError('entries of unknown tenant 3 or log type 2'), 'internal', EXIT.failure],
  [new LogwardenError('invalid_request', ['logType: is required']), 'invalid_request', EXIT.failure],
];

describe('the error catalogue', () => {
  it('gives every code an HTTP status and a CLI exit code', () => {
    const exits = new Set<number>(Object.values(EXIT));
    for (const [code, e] of Object.entries(ERRORS)) {
      assert.ok(Number.isInteger(e.status) && e.status >= 400 && e.status <= 599, `${code}: status ${e.status}`);
      assert.ok(exits.has(e.exit), `${code}: exit ${e.exit}`);
      assert.notEqual(e.exit as number, EXIT.ok, `${code}: a failure never exits 0`);
      assert.equal(ERROR_STATUS[code as keyof typeof ERRORS], e.status);
    }
  });

  it('types the failures of the store, the configuration and the CLI with codes from the table', () => {
    for (const [err, code] of typed) {
      assert.ok(err instanceof CodedError, err.name);
      assert.equal(err.code, code);
    }
  });
});

describe('the CLI maps failures through the catalogue', () => {
  for (const [err, code, exit] of typed) {
    it(`${err.name} (${code}) exits ${exit} and prints its message`, () => {
      const r = report(err);
      assert.equal(r.exit, exit);
      assert.equal(r.exit, ERRORS[code as keyof typeof ERRORS].exit);
      assert.equal(r.stderr, `logwarden: ${err.message}\n`);
    });
  }

  it('prints the first line of an unexpected error and exits 1', () => {
    assert.deepEqual(report(new Error('boom\n    at somewhere')), { exit: EXIT.failure, stderr: 'logwarden: boom\n' });
    assert.deepEqual(report('a string'), { exit: EXIT.failure, stderr: 'logwarden: a string\n' });
  });

  it("exits 0 after help and 2 after commander's usage errors", () => {
    assert.equal(report(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)')).exit, EXIT.ok);
    assert.equal(report(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'")).exit, EXIT.usage);
  });
});

describe('the server maps failures through the catalogue', () => {
  it("answers the store's typed failures with their status and, for a 5xx, the generic message", () => {
    for (const err of [
      new CorruptSegmentError('checksum mismatch', 7),
      new UnknownTenantError('555'),
      new SchemaTooNewError(9, 4),
      new StoreInconsistencyError('unknown log type number 9'),
    ]) {
      const c = classify(err);
      assert.equal(c.code, err.code);
      assert.equal(ERROR_STATUS[c.code], ERRORS[err.code].status);
      assert.deepEqual(c.messages, [INTERNAL_MESSAGE], 'the message is logged, never sent');
    }
  });

  it('keeps the messages of a LogwardenError and makes anything else a generic 500', () => {
    assert.deepEqual(classify(new LogwardenError('no_records', ['none'])).messages, ['none']);
    assert.deepEqual(classify(new Error('secret detail')), { code: 'internal', messages: [INTERNAL_MESSAGE], headers: {} });
  });
});
