import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ADMIN_LOG_TYPE } from '../../src/logs/log-types.ts';
import { DAY_MS, effectiveRetention, holdCovers, isRetentionDays, purgeableRanges, retentionCutoff } from '../../src/store/retention-policy.ts';
import type { LegalHold, RetentionSettings } from '../../src/store/store.ts';

const hold = (over: Partial<LegalHold>): LegalHold => ({
  id: 'hold_x',
  tenantId: '1',
  logType: null,
  fromMs: null,
  toMs: null,
  reason: 'r',
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'a@b',
  releasedAt: null,
  releasedBy: null,
  releaseReason: null,
  ...over,
});

describe('effective retention', () => {
  const settings: RetentionSettings = { tenantDays: 30, perType: { AccessLog: 14, UserCallPlay: null } };

  it('takes the type setting, else the tenant default, else the server default, else forever', () => {
    assert.equal(effectiveRetention(settings, 'AccessLog', 365, []), 14);
    assert.equal(effectiveRetention(settings, 'UserCallPlay', 365, []), null);
    assert.equal(effectiveRetention(settings, 'CallRecordingDownload', 365, []), 30);
    assert.equal(effectiveRetention({ perType: {} }, 'AccessLog', 365, []), 365);
    assert.equal(effectiveRetention(undefined, 'AccessLog', null, []), null);
  });

  it('reads a type named like a member every object has (toString, constructor) as any other: no setting of its own without one', () => {
    for (const logType of ['toString', 'constructor', 'valueOf', 'hasOwnProperty']) {
      assert.equal(effectiveRetention(settings, logType, 365, []), 30, logType);
      assert.equal(effectiveRetention({ perType: {} }, logType, 365, []), 365, logType);
      assert.equal(effectiveRetention({ perType: { [logType]: 7 } }, logType, 365, []), 7, logType);
      assert.equal(effectiveRetention({ perType: { AccessLog: 14 } }, ADMIN_LOG_TYPE, null, ['AccessLog', logType]), null, `${logType} kept forever`);
      assert.equal(effectiveRetention({ tenantDays: 30, perType: {} }, ADMIN_LOG_TYPE, null, [logType]), 30, `the admin trail beside ${logType}`);
    }
  });

  it("keeps the admin trail at least as long as the longest of the tenant's other types", () => {
    const s: RetentionSettings = { tenantDays: 30, perType: { AccessLog: 14, [ADMIN_LOG_TYPE]: 7 } };
    assert.equal(effectiveRetention(s, ADMIN_LOG_TYPE, null, ['AccessLog']), 14, 'own 7 < AccessLog 14');
    assert.equal(effectiveRetention(s, ADMIN_LOG_TYPE, null, ['AccessLog', 'UserCallPlay']), 30, 'UserCallPlay by the tenant default');
    assert.equal(
      effectiveRetention({ perType: { [ADMIN_LOG_TYPE]: 400, AccessLog: 14 } }, ADMIN_LOG_TYPE, null, ['AccessLog']),
      400,
      'its own when longer',
    );
    assert.equal(
      effectiveRetention({ perType: { AccessLog: 14, [ADMIN_LOG_TYPE]: 7 } }, ADMIN_LOG_TYPE, 90, ['AccessLog', 'Other']),
      90,
      'Other by the server default',
    );
    assert.equal(effectiveRetention({ perType: { AccessLog: null, [ADMIN_LOG_TYPE]: 7 } }, ADMIN_LOG_TYPE, 5, []), null, 'forever when any is');
    assert.equal(effectiveRetention({ perType: { [ADMIN_LOG_TYPE]: 7 } }, ADMIN_LOG_TYPE, null, []), 7, 'alone: its own');
  });

  it('property: the admin trail is never kept shorter than any other type', () => {
    const days = fc.option(fc.integer({ min: 1, max: 3650 }), { nil: null });
    fc.assert(
      fc.property(
        fc.option(days, { nil: undefined }),
        fc.dictionary(fc.constantFrom('A', 'B', 'C', ADMIN_LOG_TYPE), days),
        days,
        fc.subarray(['A', 'B', 'C', 'D']),
        (tenantDays, perType, server, types) => {
          const s: RetentionSettings = tenantDays === undefined ? { perType } : { tenantDays, perType };
          const admin = effectiveRetention(s, ADMIN_LOG_TYPE, server, types);
          for (const t of [...types, ...Object.keys(perType)]) {
            if (t === ADMIN_LOG_TYPE) continue;
            const d = effectiveRetention(s, t, server, types);
            if (d === null) assert.equal(admin, null);
            else assert.ok(admin === null || admin >= d);
          }
        },
      ),
    );
  });

  it('turns days into a cutoff and validates days', () => {
    assert.equal(retentionCutoff(null, 10 * DAY_MS), null);
    assert.equal(retentionCutoff(3, 10 * DAY_MS), 7 * DAY_MS);
    assert.ok(isRetentionDays(1) && isRetentionDays(365_000));
    for (const d of [0, -1, 1.5, 365_001, Number.NaN, '3', null]) assert.equal(isRetentionDays(d), false, String(d));
  });
});

describe('holds', () => {
  it('cover their type (or all) and [from, to) while active', () => {
    const h = hold({ logType: 'AccessLog', fromMs: 100, toMs: 200 });
    assert.equal(holdCovers(h, 'AccessLog', 100), true);
    assert.equal(holdCovers(h, 'AccessLog', 199), true);
    assert.equal(holdCovers(h, 'AccessLog', 200), false);
    assert.equal(holdCovers(h, 'AccessLog', 99), false);
    assert.equal(holdCovers(h, 'UserCallPlay', 150), false);
    assert.equal(holdCovers(hold({}), 'UserCallPlay', -5), true);
    assert.equal(holdCovers({ ...h, releasedAt: '2026-01-02T00:00:00.000Z' }, 'AccessLog', 150), false);
  });

  it('property: purgeable ranges are exactly the times before the cutoff no active hold covers', () => {
    const t = fc.integer({ min: -50, max: 150 });
    const arbHold = fc.record({
      logType: fc.constantFrom(null, 'A', 'B'),
      fromMs: fc.option(t, { nil: null }),
      toMs: fc.option(t, { nil: null }),
      released: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(arbHold, { maxLength: 5 }), t, (specs, before) => {
        const holds = specs
          .filter((s) => s.fromMs === null || s.toMs === null || s.fromMs < s.toMs)
          .map((s) => hold({ logType: s.logType, fromMs: s.fromMs, toMs: s.toMs, releasedAt: s.released ? 'x' : null }));
        const ranges = purgeableRanges(holds, 'A', before);
        for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i - 1]!.toMs < ranges[i]!.fromMs, 'ascending, disjoint, not adjacent');
        for (let x = -60; x <= 160; x++) {
          const inRanges = ranges.some((r) => x >= r.fromMs && x < r.toMs);
          const want = x < before && !holds.some((h) => holdCovers(h, 'A', x));
          assert.equal(inRanges, want, `time ${x}`);
        }
      }),
    );
  });
});
