/** The five log types of Gong's API; a deployment may add its own names (config `extraLogTypes`). */
export const GONG_LOG_TYPES = [
  'AccessLog',
  'UserActivityLog',
  'UserCallPlay',
  'ExternallySharedCallAccess',
  'ExternallySharedCallPlay',
] as const;

export type GongLogType = (typeof GONG_LOG_TYPES)[number];

export const LOG_TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export class LogTypes {
  readonly names: readonly string[];
  private readonly set: ReadonlySet<string>;

  constructor(extra: readonly string[] = []) {
    this.names = [...new Set([...GONG_LOG_TYPES, ...extra])];
    this.set = new Set(this.names);
  }

  has(name: string): boolean {
    return this.set.has(name);
  }

  /** A short hint for error messages. */
  describe(): string {
    return this.names.join(', ');
  }
}
