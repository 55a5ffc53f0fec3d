/**
 * Where the bytes of a series go: scenario 6's set-up for ours (N series with 3 tags, one update
 * each, one real publish to a local sink), with a heap snapshot before and after. The objects
 * that exist only in the second snapshot (V8 keeps a node's id across snapshots of one process)
 * are grouped by what V8 calls them (constructor, `(string)`, `(array)`, `(system)` …) and by
 * the property that holds them, and divided by N.
 *
 * Not a scenario of `run-all` (a heap snapshot takes seconds and the figures are deterministic);
 * run it on its own:
 *
 * ```sh
 * node --expose-gc --import tsx src/memory-breakdown.ts [counter|timer|timer-all] [N]
 * ```
 *
 * `timer-all` records one duration into each of the 276 buckets of every timer.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, percentileBucketBound } from '@spectator/core';
import { gc } from './harness.js';

type Kind = 'counter' | 'timer' | 'timer-all';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Node {
  type: string;
  name: string;
  id: number;
  size: number;
}

function read(file: string): {
  nodes: Node[];
  holder: Map<number, string>;
  holderIds: Map<number, number>;
} {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const typeOf = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const [iType, iName, iId, iSize, iEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map(
    (f) => meta.node_fields.indexOf(f),
  ) as [number, number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const nodes: Node[] = [];
  const holder = new Map<number, string>();
  const holderIds = new Map<number, number>();
  let edge = 0;
  for (let i = 0; i < snap.nodes.length; i += nf) {
    const type = typeOf[snap.nodes[i + iType]!]!;
    const name = snap.strings[snap.nodes[i + iName]!]!;
    const self = snap.nodes[i + iId]!;
    nodes.push({ type, name, id: self, size: snap.nodes[i + iSize]! });
    const from = type === 'object' || type === 'closure' ? name : `(${type})`;
    for (let e = 0; e < snap.nodes[i + iEdges]!; e++, edge += ef) {
      const kind = edgeTypes[snap.edges[edge + eType]!];
      if (kind === 'weak') continue;
      const to = snap.edges[edge + eTo]! / nf;
      const label =
        kind === 'element' || kind === 'hidden'
          ? `[${kind}]`
          : String(snap.strings[snap.edges[edge + eName]!] ?? snap.edges[edge + eName]);
      // The first strong holder seen stands for all: enough to say which field holds what.
      const id = snap.nodes[to * nf + iId]!;
      if (!holder.has(id)) {
        holder.set(id, `${from}.${label}`);
        holderIds.set(id, self);
      }
    }
  }
  return { nodes, holder, holderIds };
}

async function startSink(): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4/update`;
}

async function main(): Promise<void> {
  const kind = (process.argv[2] ?? 'counter') as Kind;
  const n = Number(process.argv[3] ?? 5000);
  const a: string[] = [];
  const b: string[] = [];
  const c: string[] = [];
  for (let i = 0; i < n; i++) {
    a.push(`route-${i % 100}`);
    b.push(`status-${Math.floor(i / 100) % 100}`);
    c.push(`shard-${Math.floor(i / 10_000)}`);
  }
  const uri = await startSink();
  const warm = new Registry({ uri });
  warm.counter('bench.warm').increment();
  warm.percentileTimer('bench.warm.timer').record(0.05);
  await warm.publish();
  await warm.stop();
  const dir = mkdtempSync(join(tmpdir(), 'mem-breakdown-'));
  gc();
  const before = process.memoryUsage();
  const first = writeHeapSnapshot(join(dir, 'before.heapsnapshot'));
  const registry = new Registry({ maxMeters: n * 2, uri });
  for (let i = 0; i < n; i++) {
    const tags = { route: a[i]!, status: b[i]!, shard: c[i]! };
    if (kind === 'counter') registry.counter('bench.mem', tags).increment();
    else {
      // `timer-all`: a range wide enough that no bucket is clamped away.
      const timer =
        kind === 'timer'
          ? registry.percentileTimer('bench.mem', tags)
          : registry.percentileTimer('bench.mem', tags, { min: 0, max: 1e10 });
      if (kind === 'timer') timer.record(0.05);
      else
        for (let j = 0; j < 276; j++) timer.record(Math.min(percentileBucketBound(j), 1e18) / 1e9);
    }
  }
  const published = await registry.publish();
  if (published.sent === 0) throw new Error('the publish sent nothing');
  await registry.releaseConnections();
  gc();
  const after = process.memoryUsage();
  const second = writeHeapSnapshot(join(dir, 'after.heapsnapshot'));
  const old = new Set(read(first).nodes.map((node) => node.id));
  const { nodes, holder, holderIds } = read(second);
  rmSync(dir, { recursive: true, force: true });
  // An array's or a string's holder says little (`Array.elements`): walk up to the first holder
  // that is not an array, a string or a plain object's storage, and name it with the field.
  const describe = (id: number): string => {
    const path: string[] = [];
    let at: number | undefined = id;
    for (let depth = 0; at !== undefined && depth < 8; depth++) {
      const h = holder.get(at);
      if (h === undefined) break;
      path.push(h);
      if (
        !/^\((array|concatenated string|string|sliced string)\)|^Array\.|^\(object elements\)/.test(
          h,
        )
      )
        break;
      at = holderIds.get(at);
    }
    return path.length === 0 ? '?' : path.length === 1 ? path[0]! : `${path.at(-1)} … ${path[0]}`;
  };
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (const node of nodes) {
    if (old.has(node.id) || node.size === 0) continue;
    const key = `${node.type === 'object' ? node.name : `(${node.type})`} ← ${describe(node.id)}`;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += node.size;
    groups.set(key, g);
    total += node.size;
  }
  const rows = [...groups].sort((x, y) => y[1].bytes - x[1].bytes);
  console.log(`${kind}, ${n} series: new objects ${(total / n).toFixed(1)} B per series`);
  console.log(
    `process.memoryUsage (heapUsed + arrayBuffers) growth: ${(
      (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) /
      n
    ).toFixed(1)} B per series`,
  );
  console.log('B/series  objects/series  what ← held by');
  for (const [key, g] of rows) {
    if (g.bytes / n < 0.5) continue;
    console.log(
      `${(g.bytes / n).toFixed(1).padStart(8)}  ${(g.count / n).toFixed(2).padStart(14)}  ${key}`,
    );
  }
  if (registry.meters().next().done) throw new Error('unreachable');
}

await main();
