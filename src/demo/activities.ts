/**
 * What the synthetic company does: users browse the web app (AccessLog), open calls and play
 * them (UserCallPlay, a sequence of segments per player instance), admins and support agents
 * change settings (UserActivityLog, sometimes impersonating), and outside viewers open shared
 * calls (ExternallySharedCallAccess, then ExternallySharedCallPlay). Each activity writes its
 * entries to a Sink, which may cut it short at the end of the time slot being filled.
 */
import type { Population, Share, User, Viewer } from './population.ts';
import type { Random } from './random.ts';
import {
  type Activity,
  accessLogBody,
  columnChange,
  columnTimestamp,
  externalAccessBody,
  externalPlayBody,
  type HttpExchange,
  keyValues,
  type PlaySegment,
  rowChange,
  str,
  tableChange,
  userActivityBody,
  userCallPlayBody,
} from './records.ts';

export interface Sink {
  /** Takes an entry; false when the slot is full or `ms` lies past its end, which ends the activity. */
  add(logType: string, ms: number, body: string): boolean;
}

export interface Context {
  readonly rng: Random;
  readonly pop: Population;
  readonly sink: Sink;
}

interface Page {
  readonly path: string;
  /** Whether the page is about one call (`?id=<call>`). */
  readonly call?: boolean;
  readonly ajax: ReadonlyArray<readonly [method: string, path: string]>;
}

const PAGES: readonly Page[] = [
  {
    path: '/home',
    ajax: [
      ['GET', '/ajax/home/feed'],
      ['GET', '/ajax/notifications/count'],
      ['GET', '/ajax/home/upcoming-calls'],
    ],
  },
  {
    path: '/calls',
    ajax: [
      ['GET', '/ajax/calls/list'],
      ['GET', '/ajax/calls/filters'],
      ['POST', '/ajax/calls/search'],
    ],
  },
  {
    path: '/call',
    call: true,
    ajax: [
      ['GET', '/ajax/call/transcript'],
      ['GET', '/ajax/call/comments'],
      ['GET', '/ajax/call/trackers'],
      ['POST', '/ajax/call/comment'],
      ['POST', '/ajax/call/share'],
    ],
  },
  {
    path: '/deals',
    ajax: [
      ['GET', '/ajax/deals/board'],
      ['GET', '/ajax/deals/forecast'],
      ['POST', '/ajax/deals/update-stage'],
    ],
  },
  {
    path: '/library',
    ajax: [
      ['GET', '/ajax/library/folders'],
      ['GET', '/ajax/library/folder-calls'],
    ],
  },
  {
    path: '/team-stats',
    ajax: [
      ['GET', '/ajax/stats/interaction'],
      ['GET', '/ajax/stats/activity'],
    ],
  },
  {
    path: '/inbox',
    ajax: [
      ['GET', '/ajax/inbox/items'],
      ['POST', '/ajax/inbox/mark-read'],
    ],
  },
  {
    path: '/settings/profile',
    ajax: [
      ['GET', '/ajax/settings/profile'],
      ['POST', '/ajax/settings/profile/update'],
    ],
  },
];

/** Opening a call to play it: the page, its transcript and comments. */
const CALL_PAGE_BEFORE_PLAY: Page = { ...PAGES[2]!, ajax: PAGES[2]!.ajax.slice(0, 2) };

const HTML = 'text/html;charset=UTF-8';
const JSON_TYPE = 'application/json;charset=UTF-8';
const SPEEDS = ['1.0', '1.0', '1.0', '1.0', '1.25', '1.5', '1.5', '1.75', '2.0', '0.75'];

function traceId(rng: Random): string {
  return rng.base36(19);
}

function forwardedFor(rng: Random, ip: string): string {
  return rng.chance(0.6) ? ip : `${ip}, 10.${rng.int(8)}.${rng.int(256)}.${rng.between(1, 254)}`;
}

function status(rng: Random, method: string): number {
  const r = rng.float();
  if (r < 0.004) return 500;
  if (r < 0.006) return 503;
  if (r < 0.016) return 404;
  if (r < 0.032) return 403;
  if (r < 0.04) return 401;
  if (method === 'GET' && r < 0.1) return 304;
  return 200;
}

/** Skewed towards `min`: most requests are quick, a few are slow. */
function skewed(rng: Random, min: number, max: number): number {
  const u = rng.float();
  return min + Math.floor(u * u * u * (max - min));
}

function exchange(ctx: Context, user: User, method: string, pathAndQuery: string, path: string, referer: string, html: boolean): HttpExchange {
  const { rng, pop } = ctx;
  const code = status(rng, method);
  const ok = code === 200;
  return {
    protocol: user.protocol,
    method,
    url: pop.origin + pathAndQuery,
    path,
    status: code,
    elapsedMs: code === 500 ? skewed(rng, 900, 30_000) : code === 503 ? rng.between(1, 6) : html ? skewed(rng, 40, 2400) : skewed(rng, 3, 900),
    contentLength: code === 304 ? 0 : !ok ? rng.between(60, 240) : html ? rng.between(18_000, 140_000) : skewed(rng, 40, 60_000),
    referer,
    forwardedFor: forwardedFor(rng, user.ip),
    userAgent: user.userAgent,
    traceId: traceId(rng),
    contentType: html && (ok || code === 304) ? HTML : JSON_TYPE,
    instance: rng.pick(pop.instances),
  };
}

function pickUser(ctx: Context): User {
  return ctx.pop.users[ctx.rng.skewedIndex(ctx.pop.users.length)]!;
}

/** A page load followed by the page's background requests, seconds apart. */
function browse(ctx: Context, user: User, ms: number, page: Page, callId: string): number | undefined {
  const { rng, pop, sink } = ctx;
  const query = page.call ? `?id=${callId}` : '';
  const referer = pop.origin + (rng.chance(0.7) ? '/home' : rng.pick(PAGES).path);
  const pageUrl = pop.origin + page.path + query;
  if (!sink.add('AccessLog', ms, accessLogBody(user, ms, exchange(ctx, user, 'GET', page.path + query, page.path, referer, true)))) return undefined;
  const calls = rng.between(0, 6);
  for (let i = 0; i < calls; i++) {
    ms += skewed(rng, 150, 20_000);
    const [method, path] = rng.pick(page.ajax);
    const q = page.call && method === 'GET' ? `?callId=${callId}` : '';
    if (!sink.add('AccessLog', ms, accessLogBody(user, ms, exchange(ctx, user, method, path + q, path, pageUrl, false)))) return undefined;
  }
  return ms;
}

export function webVisit(ctx: Context, ms: number): void {
  const page = ctx.rng.pick(PAGES);
  browse(ctx, pickUser(ctx), ms, page, ctx.pop.calls[ctx.rng.skewedIndex(ctx.pop.calls.length)]!.id);
}

function playerInstanceId(rng: Random): string {
  return `vp-${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-${'89ab'[rng.int(4)]}${rng.hex(3)}-${rng.hex(12)}`;
}

/**
 * One player instance playing a call: segments numbered 1, 2, 3…, each starting where the
 * previous ended, logged when the segment starts; wall time advances by the segment's
 * length divided by its play speed.
 */
function playSession(
  ctx: Context,
  ms: number,
  callId: string,
  durationSec: number,
  device: string,
  quotedSequence: boolean,
  render: (ms: number, segment: PlaySegment) => string,
  logType: string,
): void {
  const { rng, sink } = ctx;
  const playerId = playerInstanceId(rng);
  const durationCs = durationSec * 100;
  let pos = rng.chance(0.7) ? 0 : rng.int(Math.floor(durationCs * 0.8));
  let speed = rng.pick(SPEEDS);
  const offline = device === 'mobile' && rng.chance(0.05);
  const live = rng.chance(0.01);
  const segments = 1 + Math.floor(-Math.log(1 - rng.float()) * 4);
  for (let seq = 1; seq <= segments && pos < durationCs; seq++) {
    const end = Math.min(durationCs, pos + rng.between(300, 12_000));
    const deviceMs = offline ? ms - rng.between(60_000, 3_600_000) : ms - rng.between(40, 400);
    const segment: PlaySegment = {
      callId,
      playerId,
      sequence: quotedSequence ? `"${seq}"` : String(seq),
      speed,
      device,
      startCs: pos,
      endCs: end,
      deviceMs,
      offline,
      live,
    };
    if (!sink.add(logType, ms, render(ms, segment))) return;
    ms += Math.round(((end - pos) * 10) / Number(speed)) + rng.between(20, 600);
    pos = end;
    if (rng.chance(0.2)) speed = rng.pick(SPEEDS);
  }
}

/** A user opens a call page, then plays the call. */
export function callView(ctx: Context, ms: number): void {
  const { rng, pop } = ctx;
  const user = pickUser(ctx);
  const call = pop.calls[rng.skewedIndex(pop.calls.length)]!;
  const after = browse(ctx, user, ms, CALL_PAGE_BEFORE_PLAY, call.id);
  if (after === undefined) return;
  const device = user.device === 'desktop' || rng.chance(0.5) ? user.device : 'desktop';
  playSession(ctx, after + rng.between(800, 6000), call.id, call.durationSec, device, false, (t, s) => userCallPlayBody(user, t, s), 'UserCallPlay');
}

/** An outside viewer opens a shared call's page and usually plays it. */
export function externalVisit(ctx: Context, ms: number): void {
  const { rng, pop, sink } = ctx;
  const share: Share = pop.shares[rng.skewedIndex(pop.shares.length)]!;
  const viewer: Viewer = rng.pick(share.viewers);
  if (!sink.add('ExternallySharedCallAccess', ms, externalAccessBody(viewer, ms, share.call.id, share.sharingId))) return;
  if (!rng.chance(0.75)) return;
  // Some of Gong's sources send sequence_num as a string for shared-call plays; keep both forms.
  const quoted = rng.chance(0.7);
  const device = rng.chance(0.75) ? 'desktop' : 'mobile';
  playSession(
    ctx,
    ms + rng.between(2000, 40_000),
    share.call.id,
    share.call.durationSec,
    device,
    quoted,
    (t, s) => externalPlayBody(viewer, t, share.sharingId, s),
    'ExternallySharedCallPlay',
  );
}

interface Change {
  readonly table: string;
  readonly rows: readonly string[];
}

interface Action {
  readonly admin: boolean;
  readonly referrer: string;
  readonly endpoint: string;
  readonly action: string | null;
  readonly workspace?: boolean;
  readonly build: (ctx: Context, user: User, ms: number) => { changes: Change[]; parameters: string[] };
}

const COMPANY_SETTINGS: ReadonlyArray<readonly [column: string, from: string, to: string]> = [
  ['recording_consent_policy', 'NOTIFY', 'ANNOUNCE'],
  ['data_retention_days', '365', '730'],
  ['external_sharing_enabled', 'true', 'false'],
  ['sso_required', 'false', 'true'],
  ['default_call_privacy', 'TEAM', 'COMPANY'],
];

const ACTIONS: readonly Action[] = [
  {
    admin: true,
    referrer: '/admin/users',
    endpoint: '/admin/users/update-permission-profile',
    action: null,
    build: (ctx, _user, ms) => {
      const target = pickUser(ctx);
      const [from, to] = ctx.rng.chance(0.5) ? ['MEMBER', 'ADMIN'] : ['MEMBER', 'MANAGER'];
      return {
        changes: [
          {
            table: 'permissions.user_to_permission_profile',
            rows: [
              rowChange(target.id, [
                columnChange(str(to), str(from), 'replace', 'role'),
                columnChange(columnTimestamp(ms - 50), 'null', 'replace', 'role_changed_at'),
              ]),
            ],
          },
          { table: 'permissions.permission_profile', rows: [] },
        ],
        parameters: [keyValues('user-id', [target.id]), keyValues('profile', [to]), keyValues('redirect-url', ['/admin/users', '/admin/users'])],
      };
    },
  },
  {
    admin: true,
    referrer: '/company/api',
    endpoint: '/company/api/keys',
    action: 'API_KEY_CREATED',
    workspace: true,
    build: () => ({ changes: [], parameters: [] }),
  },
  {
    admin: true,
    referrer: '/admin/users',
    endpoint: '/admin/users/deactivate',
    action: 'USER_DEACTIVATED',
    build: (ctx, _user, ms) => {
      const target = pickUser(ctx);
      return {
        changes: [
          {
            table: 'users.user',
            rows: [
              rowChange(target.id, [
                columnChange(str('false'), str('true'), 'replace', 'active'),
                columnChange(columnTimestamp(ms - 40), 'null', 'replace', 'deactivated_at'),
              ]),
            ],
          },
        ],
        parameters: [keyValues('user-id', [target.id])],
      };
    },
  },
  {
    admin: true,
    referrer: '/company/settings',
    endpoint: '/company/settings/update',
    action: null,
    build: (ctx) => {
      const [column, from, to] = ctx.rng.pick(COMPANY_SETTINGS);
      const flip = ctx.rng.chance(0.5);
      return {
        changes: [
          {
            table: 'settings.company_settings',
            rows: [rowChange(ctx.pop.workspaceIds[0]!, [columnChange(str(flip ? from : to), str(flip ? to : from), 'replace', column)])],
          },
        ],
        parameters: [keyValues('setting', [column]), keyValues('value', [flip ? from : to])],
      };
    },
  },
  {
    admin: true,
    referrer: '/calls',
    endpoint: '/ajax/calls/export',
    action: 'CALLS_EXPORTED',
    workspace: true,
    build: (ctx, _user, ms) => {
      const days = ctx.rng.pick([7, 30, 90]);
      const day = (t: number) => new Date(t).toISOString().slice(0, 10);
      return { changes: [], parameters: [keyValues('from-date', [day(ms - days * 86_400_000)]), keyValues('to-date', [day(ms)])] };
    },
  },
  {
    admin: false,
    referrer: '/call',
    endpoint: '/ajax/call/share-externally',
    action: null,
    build: (ctx, _user, ms) => {
      const share = ctx.pop.shares[ctx.rng.int(ctx.pop.shares.length)]!;
      return {
        changes: [
          {
            table: 'calls.external_share',
            rows: [
              rowChange(ctx.rng.digits(19), [
                columnChange(share.sharingId, 'null', 'add', 'time_based_secure_sharing_id'),
                columnChange(columnTimestamp(ms + 30 * 86_400_000), 'null', 'add', 'expires_at'),
              ]),
            ],
          },
        ],
        parameters: [keyValues('call-id', [share.call.id]), keyValues('expiration-days', ['30'])],
      };
    },
  },
  {
    admin: false,
    referrer: '/call',
    endpoint: '/call/delete',
    action: 'CALL_DELETED',
    build: (ctx) => {
      const call = ctx.pop.calls[ctx.rng.int(ctx.pop.calls.length)]!;
      return {
        changes: [{ table: 'calls.call', rows: [rowChange(call.id, [columnChange(str('true'), str('false'), 'replace', 'deleted')])] }],
        parameters: [keyValues('call-id', [call.id])],
      };
    },
  },
  {
    admin: false,
    referrer: '/settings/profile',
    endpoint: '/ajax/settings/profile/update',
    action: null,
    build: (ctx, user) => {
      const [from, to] = ctx.rng.chance(0.5) ? ['DAILY', 'WEEKLY'] : ['WEEKLY', 'NEVER'];
      return {
        changes: [{ table: 'users.user_settings', rows: [rowChange(user.id, [columnChange(str(to), str(from), 'replace', 'email_digest')])] }],
        parameters: [keyValues('email-digest', [to])],
      };
    },
  },
];

/** A change made through the web app: its POST in AccessLog and its audit record in UserActivityLog. */
export function adminAction(ctx: Context, ms: number): void {
  const { rng, pop, sink } = ctx;
  const action = rng.pick(ACTIONS);
  const user = action.admin ? rng.pick(pop.admins) : pickUser(ctx);
  const impersonator = rng.chance(0.15) ? rng.pick(pop.impersonators) : undefined;
  const { changes, parameters } = action.build(ctx, user, ms);
  const pre = ms - rng.between(80, 250);
  const post = pre + rng.between(20, 70);
  const customData: string[] = [];
  if (rng.chance(0.8)) customData.push(keyValues('user-title', [user.title]));
  if (impersonator) customData.push(keyValues('impersonator-company-id', [impersonator.companyId]));
  const referrer = pop.origin + action.referrer;
  const activity: Activity = {
    auditId: rng.digits(19),
    tableChanges: changes.map((c, i) => tableChange(pre + i * 6, post - i * 9, c.rows, c.table)),
    customData,
    action: action.action === null ? 'null' : str(action.action),
    referrerUri: referrer,
    clientIp: impersonator ? impersonator.ip : user.ip,
    verb: 'POST',
    endpointUri: action.endpoint,
    parameters,
    workspaceId: action.workspace || rng.chance(0.3) ? str(user.workspaceId) : 'null',
  };
  if (!sink.add('UserActivityLog', ms, userActivityBody(user, impersonator?.fields ?? '', ms, activity))) return;
  const done = ms + rng.between(2, 40);
  const x = exchange(ctx, user, 'POST', action.endpoint, action.endpoint, referrer, false);
  sink.add('AccessLog', done, accessLogBody(user, done, { ...x, status: 200, contentType: JSON_TYPE }));
}
