/**
 * What the throughput scenario checks before it believes a figure: every answer was the one the
 * request mix expects, and the metrics endpoints counted every request the servers answered.
 */
import type { AtlasDevServer } from '@spectator/atlas-dev';
import type { RunResult } from './load-driver.js';
import { REQUEST_MIX } from './request-mix.js';
import type { RecordingCheck } from './throughput-report.js';

/** A run is only usable when every answer was the expected one and no connection failed. */
export function checkRun(label: string, r: RunResult): void {
  const expected = new Set(REQUEST_MIX.map((m) => String(m.status)));
  const unexpected = Object.entries(r.statuses).filter(([status]) => !expected.has(status));
  if (unexpected.length > 0 || r.errors > 0)
    throw new Error(
      `${label}: ${r.errors} connection errors, unexpected statuses ${JSON.stringify(Object.fromEntries(unexpected))}`,
    );
}

/** `ipc.server.call` requests the endpoint received (count statistic, every batch). */
export function oursRecorded(atlas: AtlasDevServer): number {
  let n = 0;
  for (const s of atlas.series())
    if (s.name === 'ipc.server.call' && s.tags.statistic === 'count') n += s.value;
  return n;
}

export function atlasSummary(atlas: AtlasDevServer): string {
  const rejected = atlas.batches.reduce((n, b) => n + b.rejected.length, 0);
  const notOk = atlas.batches.filter((b) => b.status !== 200).length;
  const endpoints = new Set(
    atlas
      .series()
      .filter((s) => s.name === 'ipc.server.call')
      .map((s) => s.tags['ipc.endpoint']),
  );
  if (rejected > 0 || notOk > 0)
    throw new Error(
      `the Atlas endpoint rejected ${rejected} measurements (${notOk} batches not 200)`,
    );
  const templates = new Set(REQUEST_MIX.map((r) => r.template));
  for (const t of templates)
    if (![...endpoints].some((e) => e === t || e === t.replace(/[^-._A-Za-z0-9~^]/g, '_')))
      throw new Error(
        `the Atlas endpoint received no ipc.endpoint ${t} (got ${[...endpoints].join(', ')})`,
      );
  return `${atlas.batchesReceived} batches, all 200, ${atlas.series().length} series, endpoints ${[...endpoints].sort().join(' ')}`;
}

export function checkRecorded(
  label: string,
  where: string,
  recorded: number,
  sent: number,
  cutOff: number,
  detail: string,
): RecordingCheck {
  // Every answered request recorded; at most the cut-off ones on top.
  if (recorded < sent || recorded > sent + cutOff)
    throw new Error(
      `${label}: ${where} counted ${recorded} requests, the server answered ${sent} (+ at most ${cutOff} cut off)`,
    );
  return { label, where, recorded, answered: sent, detail };
}
