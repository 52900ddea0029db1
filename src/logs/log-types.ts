/** The five log types of Gong's API; a deployment may add its own names (config `extraLogTypes`). */
export const GONG_LOG_TYPES = ['AccessLog', 'UserActivityLog', 'UserCallPlay', 'ExternallySharedCallAccess', 'ExternallySharedCallPlay'] as const;

export type GongLogType = (typeof GONG_LOG_TYPES)[number];

/**
 * The tenant's admin trail (src/admin/): logwarden writes it, the tenant's read keys read it
 * like any type, and no client can write it, so an entry of it always comes from logwarden.
 */
export const ADMIN_LOG_TYPE = 'LogwardenAdminLog';

export const LOG_TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export class LogTypes {
  /** Every type a reader may ask for: Gong's five, the deployment's own, then the admin trail. */
  readonly names: readonly string[];
  /** The types clients may write: all but the admin trail. */
  readonly writable: readonly string[];
  private readonly set: ReadonlySet<string>;

  constructor(extra: readonly string[] = []) {
    this.writable = [...new Set([...GONG_LOG_TYPES, ...extra])].filter((t) => t !== ADMIN_LOG_TYPE);
    this.names = [...this.writable, ADMIN_LOG_TYPE];
    this.set = new Set(this.names);
  }

  /** Whether `name` can be read. */
  has(name: string): boolean {
    return this.set.has(name);
  }

  /** Whether clients may write entries of `name`. */
  canWrite(name: string): boolean {
    return name !== ADMIN_LOG_TYPE && this.set.has(name);
  }

  /** A short hint for error messages about reading. */
  describe(): string {
    return this.names.join(', ');
  }

  /** A short hint for error messages about writing. */
  describeWritable(): string {
    return this.writable.join(', ');
  }
}

/** Why an entry of the admin trail cannot be written by a client (after `logType: `). */
export const ADMIN_LOG_TYPE_REFUSAL = `${ADMIN_LOG_TYPE} is reserved: logwarden writes it (the tenant's admin trail) and clients cannot`;
