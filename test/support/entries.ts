/**
 * Synthetic entry texts in the Gong wire format for the five log types, with the details
 * that break careless clients: 19-digit ids, integers beyond 2^53, `1.0`, `1.5e-300`,
 * escaped characters and non-ASCII text.
 */
export const BIG_INTEGER = '12345678901234567890123';

function id19(seed: number): string {
  return String(5_000_000_000_000_000_000n + BigInt(seed) * 7_919n);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** One entry's text (minified, Gong field order) of `logType`, number `i`, at `ms`. */
export function entryText(logType: string, i: number, ms: number): string {
  const user = `"userId":"${id19(i)}","userEmailAddress":"user${i}@example.com","userFullName":"Zoë \\"Z\\" Ng ${i}"`;
  const t = `"eventTime":"${iso(ms)}"`;
  switch (logType) {
    case 'AccessLog':
      return `{${user},${t},"logRecord":{"protocol":"HTTP/1.1","method":"GET","requested_url":"https://app.example.com/call?id=${id19(i + 1)}","status":200,"elapsed_time":${i % 300},"content_length":${BIG_INTEGER},"message":"","request_headers":{"x-forwarded-for":"203.0.113.${i % 250}"}}}`;
    case 'UserActivityLog':
      return `{${user},"impersonatorUserId":"${id19(i + 2)}","impersonatorCompanyId":"402918374650192",${t},"logRecord":{"auditId":"${id19(i + 3)}","tableChanges":[],"action":null,"score":1.5e-300,"workspaceId":null}}`;
    case 'UserCallPlay':
      return `{${user},${t},"logRecord":{"call_id":"${id19(i + 4)}","sequence_num":${i},"play_speed":1.0,"start_time":0.0,"end_time":31.48,"offline":false,"live":false}}`;
    case 'ExternallySharedCallAccess':
      return `{"userEmailAddress":"buyer${i}@customer.example",${t},"logRecord":{"call_id":"${id19(i + 5)}","time_based_secure_sharing_id":"tbs-${i}","page_viewer_ip":"2001:db8::7"}}`;
    default:
      return `{"userEmailAddress":"buyer${i}@customer.example","userFullName":"Jordan Buyer",${t},"logRecord":{"time_based_secure_sharing_id":"tbs-${i}","call_id":"${id19(i + 6)}","sequence_num":"${i}","play_speed":2.0,"live":false}}`;
  }
}

/** `count` entries of `logType`, one every `stepMs` from `startMs` (with some sharing one instant). */
export function entryTexts(logType: string, count: number, startMs: number, stepMs = 1000): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    // Every fifth entry shares its predecessor's instant: paging must neither skip nor repeat ties.
    const slot = i - Math.floor(i / 5);
    out.push(entryText(logType, i, startMs + slot * stepMs));
  }
  return out;
}
