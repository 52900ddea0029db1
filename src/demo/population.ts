/**
 * The cast of a synthetic data set: one company's users, its recorded calls, the vendor's
 * support agents who impersonate users, and the outside people calls are shared with. It is
 * derived from the seed alone, so every hour of generated data talks about the same people.
 *
 * Strings that end up in entries are kept JSON-quoted and free of characters JSON would
 * escape, so entries can be assembled by concatenation.
 */
import { Random } from './random.ts';

export interface User {
  readonly id: string;
  /** The entry's leading user fields, rendered: `{"userId":…,"userFullName":…,` */
  readonly head: string;
  readonly title: string;
  readonly ip: string;
  readonly userAgent: string;
  readonly device: 'desktop' | 'mobile' | 'tablet';
  readonly protocol: string;
  readonly admin: boolean;
  readonly workspaceId: string;
}

export interface Impersonator {
  /** The impersonator fields, rendered, each followed by a comma. */
  readonly fields: string;
  readonly companyId: string;
  readonly ip: string;
}

export interface Call {
  readonly id: string;
  readonly durationSec: number;
}

export interface Viewer {
  /** The entry's leading fields: the viewer's email address and, for some, full name. */
  readonly head: string;
  readonly ip: string;
}

export interface Share {
  readonly call: Call;
  /** JSON-quoted `time_based_secure_sharing_id`. */
  readonly sharingId: string;
  readonly viewers: readonly Viewer[];
}

export interface Population {
  /** The company's web origin, e.g. `https://us-48211.app.example.com`. */
  readonly origin: string;
  readonly users: readonly User[];
  readonly admins: readonly User[];
  readonly impersonators: readonly Impersonator[];
  readonly calls: readonly Call[];
  readonly shares: readonly Share[];
  readonly workspaceIds: readonly string[];
  /** Instance ids of the application servers (`x-iid`). */
  readonly instances: readonly string[];
}

const FIRST_NAMES = [
  'Maria',
  'Sam',
  'Li',
  'Amara',
  'Jonas',
  'Priya',
  'Diego',
  'Hannah',
  'Kenji',
  'Fatima',
  'Lucas',
  'Chloe',
  'Omar',
  'Ingrid',
  'Mateo',
  'Aisha',
  'Noah',
  'Elena',
  'Ravi',
  'Sofia',
  'Tomasz',
  'Grace',
  'Yusuf',
  'Julia',
  'Andre',
  'Mei',
  'Ethan',
  'Nadia',
  'Pablo',
  'Olivia',
  'Kwame',
  'Sara',
  'Daniel',
  'Leila',
  'Marco',
  'Emma',
  'Hiroshi',
  'Zara',
  'Victor',
  'Anna',
  'Samuel',
  'Ines',
  'Arjun',
  'Clara',
  'Felix',
  'Naomi',
  'Tariq',
  'Lena',
];

const LAST_NAMES = [
  'Lopez',
  'Okafor',
  'Wei',
  'Schmidt',
  'Patel',
  'Garcia',
  'Kim',
  'Nakamura',
  'Haddad',
  'Silva',
  'Novak',
  'Johansson',
  'Mensah',
  'Rossi',
  'Cohen',
  'Dubois',
  'Singh',
  'Murphy',
  'Kowalski',
  'Andersen',
  'Rahman',
  'Fischer',
  'Moreau',
  'Tanaka',
  'Oliveira',
  'Brown',
  'Nguyen',
  'Ibrahim',
  'Larsen',
  'Costa',
  'Walsh',
  'Hoffmann',
  'Reyes',
  'Sato',
  'Adeyemi',
  'Khan',
  'Bianchi',
  'Meyer',
  'Chen',
  'Martin',
];

const TITLES = [
  'Account Executive',
  'Account Executive',
  'Account Executive',
  'Sales Development Representative',
  'Sales Development Representative',
  'Sales Manager',
  'Customer Success Manager',
  'Solutions Engineer',
  'Revenue Operations Analyst',
  'VP Sales',
  'Enablement Lead',
  'Marketing Manager',
];

const COMPANY_DOMAINS = ['northwind-analytics.example', 'brightpath.example', 'keystone-labs.example', 'tidal-software.example'];

const CUSTOMER_DOMAINS = [
  'customer.example',
  'acme-corp.example',
  'globex.example',
  'initech.example',
  'umbrella-health.example',
  'stark-logistics.example',
  'wayne-finance.example',
  'hooli.example',
  'vandelay.example',
  'soylent.example',
  'cyberdyne.example',
  'massive-dynamic.example',
  'wonka-foods.example',
  'tyrell.example',
  'oscorp.example',
];

const BUYER_ROLES = ['buyer', 'procurement', 'it-security', 'legal', 'finance', 'cto', 'ops', 'vp.sales'];

const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36',
];

const MOBILE_AGENTS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
];

const TABLET_AGENT = 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

const SUPPORT_AGENTS = ['Support Agent', 'Dana Whitfield', 'Marcus Lee', 'Ana Petrova'];

const q = (s: string): string => JSON.stringify(s);

/** An address from the documentation ranges (RFC 5737, RFC 3849): never a real host. */
function documentationIp(rng: Random): string {
  const r = rng.int(10);
  if (r < 4) return `203.0.113.${rng.between(1, 254)}`;
  if (r < 7) return `198.51.100.${rng.between(1, 254)}`;
  if (r < 9) return `192.0.2.${rng.between(1, 254)}`;
  return `2001:db8::${rng.hex(rng.between(1, 4)).replace(/^0+(?=.)/, '')}`;
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z]/g, '');
}

function makeUsers(rng: Random, count: number, domain: string, workspaceIds: readonly string[]): User[] {
  const taken = new Set<string>();
  const users: User[] = [];
  for (let i = 0; i < count; i++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    let local = `${slug(first)}.${slug(last)}`;
    for (let n = 2; taken.has(local); n++) local = `${slug(first)}.${slug(last)}${n}`;
    taken.add(local);
    const id = rng.digits(19);
    const device = rng.chance(0.8) ? 'desktop' : rng.chance(0.75) ? 'mobile' : 'tablet';
    const userAgent = device === 'desktop' ? rng.pick(USER_AGENTS) : device === 'mobile' ? rng.pick(MOBILE_AGENTS) : TABLET_AGENT;
    users.push({
      id,
      head: `{"userId":${q(id)},"userEmailAddress":${q(`${local}@${domain}`)},"userFullName":${q(`${first} ${last}`)},`,
      title: rng.pick(TITLES),
      ip: documentationIp(rng),
      userAgent,
      device,
      protocol: rng.chance(0.7) ? 'HTTP/1.1' : 'HTTP/2.0',
      admin: i % 12 === 0,
      workspaceId: rng.pick(workspaceIds),
    });
  }
  return users;
}

function makeViewers(rng: Random, count: number): Viewer[] {
  const taken = new Set<string>();
  const viewers: Viewer[] = [];
  while (viewers.length < count) {
    const domain = rng.pick(CUSTOMER_DOMAINS);
    const named = rng.chance(0.6);
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const email = named ? `${slug(first)}.${slug(last)}@${domain}` : `${rng.pick(BUYER_ROLES)}@${domain}`;
    if (taken.has(email)) continue;
    taken.add(email);
    const head = named ? `{"userEmailAddress":${q(email)},"userFullName":${q(`${first} ${last}`)},` : `{"userEmailAddress":${q(email)},`;
    viewers.push({ head, ip: documentationIp(rng) });
  }
  return viewers;
}

function makeImpersonators(rng: Random): Impersonator[] {
  const companyId = rng.digits(15);
  return SUPPORT_AGENTS.map((name) => {
    const email =
      name === 'Support Agent' ? 'support.agent@vendor.example' : `${slug(name.split(' ')[0]!)}.${slug(name.split(' ')[1]!)}@vendor.example`;
    return {
      fields:
        `"impersonatorUserId":${q(rng.digits(19))},"impersonatorEmailAddress":${q(email)},` +
        `"impersonatorFullName":${q(name)},"impersonatorCompanyId":${q(companyId)},`,
      companyId,
      ip: documentationIp(rng),
    };
  });
}

export interface PopulationSize {
  users: number;
  calls: number;
  viewers: number;
  shares: number;
}

export const DEFAULT_POPULATION: PopulationSize = { users: 240, calls: 4000, viewers: 400, shares: 900 };

export function makePopulation(seed: number, size: PopulationSize = DEFAULT_POPULATION): Population {
  const rng = new Random(seed, 0xfeed);
  const domain = rng.pick(COMPANY_DOMAINS);
  const origin = `https://us-${rng.between(10000, 99999)}.app.example.com`;
  const workspaceIds = [rng.digits(19), rng.digits(19), rng.digits(19)];
  const users = makeUsers(rng, size.users, domain, workspaceIds);
  const calls: Call[] = [];
  for (let i = 0; i < size.calls; i++) calls.push({ id: rng.digits(19), durationSec: rng.between(8, 75) * 60 });
  const viewers = makeViewers(rng, size.viewers);
  const shares: Share[] = [];
  for (let i = 0; i < size.shares; i++) {
    const n = rng.chance(0.7) ? 1 : rng.between(2, 4);
    const audience: Viewer[] = [];
    for (let k = 0; k < n; k++) {
      const v = viewers[rng.skewedIndex(viewers.length)]!;
      if (!audience.includes(v)) audience.push(v);
    }
    shares.push({ call: calls[rng.int(calls.length)]!, sharingId: q(`tbs-${rng.hex(12)}`), viewers: audience });
  }
  return {
    origin,
    users,
    admins: users.filter((u) => u.admin),
    impersonators: makeImpersonators(rng),
    calls,
    shares,
    workspaceIds,
    instances: Array.from({ length: 6 }, () => `i-0${rng.hex(7)}`),
  };
}
