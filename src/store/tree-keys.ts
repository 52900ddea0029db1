/**
 * The log keys of a store's tenants (SPEC §11, TLOG-API.md): one signing secret for the
 * deployment — given by configuration (LOGWARDEN_LOG_SIGNING_SECRET) or generated once and kept
 * in the store's secrets — from which each tenant's Ed25519 key is derived
 * (deriveTenantSigner, HKDF); each tenant's origin, which is also its key's name, is
 * `<prefix>/<tenantId>`, the prefix defaulting to `logwarden/<store id>` with a random store id
 * created once and kept in the store, so that two deployments never share an origin.
 */
import { randomBytes } from 'node:crypto';
import type { NoteSigner } from '../tlog/note-key.ts';
import { deriveTenantSigner } from '../tlog/tenant-key.ts';

/** Secret names in the store's `secrets`. */
export const LOG_SIGNING_SECRET = 'tlog-signing-secret';
export const STORE_ID_SECRET = 'store-id';
/** Row of `secrets` (a public value) naming the signing secret of an origin prefix: this, then the prefix. */
export const PREFIX_KEY_RECORD = 'tlog-prefix-key:';

export interface LogKeyOptions {
  /** The signing secret (≥ 32 bytes of UTF-8); default: the one kept in the store. */
  readonly signingSecret?: string | null;
  /** The origin prefix; default `logwarden/<store id>`. */
  readonly originPrefix?: string | null;
}

/** A fresh signing secret: 32 random bytes, hex (64 characters). */
export function newSigningSecret(): string {
  return randomBytes(32).toString('hex');
}

/** A fresh store id: 16 random bytes, hex. */
export function newStoreId(): string {
  return randomBytes(16).toString('hex');
}

export class LogKeys {
  private readonly signers = new Map<string, NoteSigner>();

  constructor(
    private readonly secret: string,
    readonly originPrefix: string,
    /** Whether `originPrefix` is the default one (none was configured). */
    readonly defaultPrefix = false,
  ) {}

  /** From options and the store's secrets (`getOrCreate(name, create)`, atomic). */
  static async open(getOrCreate: (name: string, create: () => string) => Promise<string> | string, options: LogKeyOptions = {}): Promise<LogKeys> {
    const secret = options.signingSecret ?? (await getOrCreate(LOG_SIGNING_SECRET, newSigningSecret));
    const prefix = options.originPrefix ?? `logwarden/${await getOrCreate(STORE_ID_SECRET, newStoreId)}`;
    return new LogKeys(secret, prefix, options.originPrefix == null);
  }

  origin(tenantId: string): string {
    return `${this.originPrefix}/${tenantId}`;
  }

  signer(tenantId: string): NoteSigner {
    let s = this.signers.get(tenantId);
    if (s === undefined) {
      s = deriveTenantSigner(this.secret, this.origin(tenantId));
      if (this.signers.size >= 10_000) this.signers.clear();
      this.signers.set(tenantId, s);
    }
    return s;
  }

  /** The tenant's verifier key in note form `<name>+<hex id>+<base64>`. */
  verifierKey(tenantId: string): string {
    return this.signer(tenantId).verifier.text;
  }

  /**
   * Store.checkLogs, once the store's checkpoints under this prefix open with this secret (or
   * there are none yet): the store records, per prefix, a verifier key the secret derives for
   * the name `<prefix>/` (no tenant's origin), and every later check compares with it. So a
   * process with another secret is refused even while no tenant of the prefix has a checkpoint
   * to compare with (servers started together under a new prefix), instead of giving tenants
   * first checkpoints under keys the other processes cannot sign over. `signed`: whether any
   * tenant has a checkpoint under the prefix (when none has, the record alone can be undone).
   */
  async checkRecorded(
    getOrCreate: (name: string, create: () => string) => Promise<string> | string,
    signed: boolean,
    recordedPrefixes: readonly string[],
  ): Promise<void> {
    const mine = deriveTenantSigner(this.secret, `${this.originPrefix}/`).verifier.text;
    const name = `${PREFIX_KEY_RECORD}${this.originPrefix}`;
    // A command run without the deployment's LOGWARDEN_LOG_ORIGIN_PREFIX (a shell without the
    // servers' settings) would sign, and print keys, under a prefix no server serves.
    if (this.defaultPrefix && !signed && recordedPrefixes.length > 0 && !recordedPrefixes.includes(this.originPrefix)) {
      throw new Error(
        `the logs of this store are signed under the origin prefix ${recordedPrefixes.join(', ')}, and this runs under the default prefix ` +
          `${this.originPrefix}, under which nothing is signed. Nothing is signed: give LOGWARDEN_LOG_ORIGIN_PREFIX and ` +
          'LOGWARDEN_LOG_SIGNING_SECRET as the servers have them; to begin a new series of checkpoints under the default prefix, ' +
          `give it explicitly (LOGWARDEN_LOG_ORIGIN_PREFIX=${this.originPrefix})`,
      );
    }
    const recorded = await getOrCreate(name, () => mine);
    if (recorded === mine) return;
    throw new Error(
      `the logs of the origin prefix ${this.originPrefix} in this store are signed with another log signing secret than this one ` +
        `(the store records the key ${recorded} for the prefix; this secret gives ${mine}). Nothing is signed: ` +
        'give the signing secret the store signs this prefix with (LOGWARDEN_LOG_SIGNING_SECRET, the same on every server and command), ' +
        'or a new LOGWARDEN_LOG_ORIGIN_PREFIX to begin a new series of checkpoints (verifiers then pin its new keys)' +
        (signed
          ? ''
          : `. No tenant's log has a checkpoint under this prefix yet: if this secret is the one to sign with, delete the row ${name} ` +
            "of the store's secrets table (a process run with another secret recorded it), and give this one to every server and command"),
    );
  }
}
