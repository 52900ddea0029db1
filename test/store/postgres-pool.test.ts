/**
 * A pool told to send statements unnamed (LOGWARDEN_DATABASE_POOL_MODE=transaction) drops the
 * name of every statement given one, and passes anything else on as it is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type pg from 'pg';
import { unnamedStatements } from '../../src/store/postgres/pool.ts';

/** A client whose query only records what it was given. */
function recording(): { client: pg.ClientBase; sent: unknown[][] } {
  const sent: unknown[][] = [];
  const client = {
    query: (...args: unknown[]) => {
      sent.push(args);
      return Promise.resolve({ rows: [] });
    },
  } as unknown as pg.ClientBase;
  return { client, sent };
}

describe('unnamed statements', () => {
  it('drops the name of a named statement, keeping its text and values', async () => {
    const { client, sent } = recording();
    unnamedStatements(client);
    await client.query({ name: 'lw_append_keys', text: 'SELECT $1::int', values: [1] });
    assert.deepEqual(sent, [[{ text: 'SELECT $1::int', values: [1] }]]);
  });

  it('passes plain text, text with values, and a submittable on as they are', async () => {
    const { client, sent } = recording();
    unnamedStatements(client);
    const submittable = { name: 'cursor', submit: () => {} };
    await client.query('SELECT 1');
    await client.query('SELECT $1::int', [2]);
    await client.query(submittable as unknown as string);
    assert.deepEqual(sent, [['SELECT 1'], ['SELECT $1::int', [2]], [submittable]]);
    assert.equal(sent[2]![0], submittable);
  });
});
