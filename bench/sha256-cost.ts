/**
 * What one SHA-256 costs in this Node, per call, on inputs of a verifiable log's sizes: an
 * entry leaf (about 60 bytes), a node (65 bytes: 0x01 and two hashes) and an entry's wire text
 * (about 800 bytes). Compares `crypto.hash` (one call, Node 20.12 and later) with
 * `crypto.createHash(…).update(…).digest()`. The verifier's audit spends two hashes per leaf.
 *
 *   node --import tsx bench/sha256-cost.ts [--calls N] [--runs N]
 *
 * Prints one JSON object: the median nanoseconds per call of each way, per input size.
 */
import * as crypto from 'node:crypto';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: { calls: { type: 'string', default: '500000' }, runs: { type: 'string', default: '5' } },
});
const calls = Number(flags.calls);
const runs = Number(flags.runs);
if (!(Number.isInteger(calls) && calls > 0 && Number.isInteger(runs) && runs > 0)) {
  process.stderr.write('--calls and --runs must be positive integers\n');
  process.exit(2);
}
if (typeof crypto.hash !== 'function') {
  process.stderr.write('this Node has no crypto.hash (it came in 20.12)\n');
  process.exit(1);
}
const oneCall = crypto.hash;

const inputs = { leaf: crypto.randomBytes(60), node: crypto.randomBytes(65), entry: crypto.randomBytes(800) };
const ways = {
  'crypto.hash': (b: Buffer) => oneCall('sha256', b, 'buffer'),
  'crypto.createHash': (b: Buffer) => crypto.createHash('sha256').update(b).digest(),
};

function nsPerCall(f: (b: Buffer) => Buffer, input: Buffer): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink ^= f(input)[0]!;
  const ns = Number(process.hrtime.bigint() - start) / calls;
  if (sink === 256) process.stdout.write(''); // keeps the loop's results alive
  return ns;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const result: Record<string, Record<string, number>> = {};
for (const [size, input] of Object.entries(inputs)) {
  result[size] = {};
  for (const [name, f] of Object.entries(ways)) {
    nsPerCall(f, input); // warm-up
    const samples = Array.from({ length: runs }, () => nsPerCall(f, input));
    result[size]![name] = Math.round(median(samples));
  }
}
process.stdout.write(`${JSON.stringify({ node: process.version, calls, runs, nsPerCall: result }, null, 2)}\n`);
