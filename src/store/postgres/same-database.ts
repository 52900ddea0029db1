/**
 * Whether a new connection reaches the database this process has been reading.
 *
 * A store keeps the numbers the database gave its tenants and log types, read once, to spare a
 * lookup at every request. Tenants and log types are never deleted nor renumbered, so every
 * number kept is in the database for as long as the process runs. A database put back or made
 * anew under a running process (dropped and created again, a copy made by `logwarden copy`)
 * may number them otherwise, and a kept number would then name another tenant's entries. Every
 * connection after such a change is a new one (dropping a database ends the connections to
 * it): each new connection is checked against the numbers kept before it is used, and when one
 * is missing it is refused, and so is every later one, until the process is restarted and reads
 * the numbers afresh. Behind a pooler lending sessions per transaction, the check is made when
 * the pooler's connection opens, not for each session it lends.
 */
import type pg from 'pg';
import { CodedError } from '../../errors.ts';

/** Raised for every statement once a new connection reached a database that does not hold the numbers this process kept. */
export class DatabaseReplacedError extends CodedError {
  override readonly code = 'unavailable';
  constructor(missing: string) {
    super(
      `the database is not the one this process has been reading (${missing}): it was put back or made anew while the process ran; ` +
        'restart the process, which then reads it afresh',
    );
    this.name = 'DatabaseReplacedError';
  }
}

export class KnownNumbers {
  /** Tenant ids and their numbers, both ways. */
  readonly tids = new Map<string, number>();
  readonly tenantIds = new Map<number, string>();
  /** Log type names and their numbers, both ways. */
  readonly typeIds = new Map<string, number>();
  readonly typeNames = new Map<number, string>();
  private refused: DatabaseReplacedError | undefined;

  /** Forgets every number (after this process itself filled the database anew: store-import.ts). */
  clear(): void {
    this.tids.clear();
    this.tenantIds.clear();
    this.typeIds.clear();
    this.typeNames.clear();
  }

  /** Checks a new connection: every number kept is in its database (see the top). */
  readonly check = async (client: pg.ClientBase): Promise<void> => {
    if (this.refused) throw this.refused;
    const tenants = new Map<number, string>(this.tenantIds);
    for (const [id, tid] of this.tids) tenants.set(tid, id);
    const types = new Map<number, string>(this.typeNames);
    for (const [name, typeId] of this.typeIds) types.set(typeId, name);
    if (tenants.size === 0 && types.size === 0) return;
    const r = await client.query<{ tenants: string; types: string }>(
      `SELECT (SELECT count(*) FROM tenants t JOIN unnest($1::int4[], $2::text[]) AS k(tid, id) ON t.tid = k.tid AND t.id = k.id) AS tenants,
              (SELECT count(*) FROM log_types l JOIN unnest($3::int4[], $4::text[]) AS k(type_id, name) ON l.type_id = k.type_id AND l.name = k.name) AS types`,
      [[...tenants.keys()], [...tenants.values()], [...types.keys()], [...types.values()]],
    );
    const found = r.rows[0]!;
    const missing = [
      Number(found.tenants) < tenants.size && `${tenants.size - Number(found.tenants)} of the ${tenants.size} tenants it numbered`,
      Number(found.types) < types.size && `${types.size - Number(found.types)} of the ${types.size} log types it numbered`,
    ].filter((m): m is string => typeof m === 'string');
    if (missing.length === 0) return;
    this.refused ??= new DatabaseReplacedError(`it lacks ${missing.join(' and ')}`);
    throw this.refused;
  };
}
