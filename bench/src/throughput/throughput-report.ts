/**
 * Statistics, tables and goals of the throughput scenarios (8, 8k), from the rounds of one run.
 *
 * Every figure is per configuration over the kept rounds (median, min – max, IQR), and against
 * the first bare server as a paired difference per round (the same round's bare window, so
 * drift of the machine between rounds cancels): median and quartiles over the rounds. The
 * second bare server, compared the same way, gives the noise floor.
 *
 * Two throughput figures: requests per second, and requests per CPU-second of the server. They
 * are the same number when the server has its CPU to itself. When other work takes part of that
 * CPU (other processes, or the hypervisor), req/s measures the scheduler as much as the app,
 * while req per CPU-second still measures what a request costs; so the goals use it whenever
 * the server's CPU time is known (`/proc`), and req/s otherwise.
 */
import {
  fmtPct,
  noiseFloor,
  summarize,
  table,
  type Goal,
  type ScenarioReport,
  type ThroughputSettings,
} from '../harness.js';
import type { Framework } from './api-server.js';
import { FRAMEWORKS } from './frameworks.js';
import type { RunResult } from './load-driver.js';
import { REQUEST_MIX } from './request-mix.js';

export interface ConfigurationRun {
  label: string;
  /** `reference`: shown, compared with bare, not part of a goal. */
  group: 'baseline' | 'reference' | 'ours' | 'peer';
  /** One per kept round, in round order. */
  results: RunResult[];
}

/** What a metrics endpoint counted against what the server answered. */
export interface RecordingCheck {
  label: string;
  where: string;
  recorded: number;
  answered: number;
  detail: string;
}

export interface ThroughputInput {
  framework: Framework;
  settings: ThroughputSettings;
  pinning: string;
  load: { start: string; end: string };
  seconds: number;
  /** The first two are the bare app (A/A). */
  runs: ConfigurationRun[];
  checks: RecordingCheck[];
  /** Windows measured again because the server answered nothing in them. */
  remeasured: number;
  stepMs: number;
  /** Why our adapter was not measured. */
  skipped?: string;
}

/** Issue 17: our throughput within 3 % of the bare app's … */
const MAX_LOSS_PCT = 3;
/** … and our loss at most a third of the peer's (express-prom-bundle's). */
const PEER_LOSS_FACTOR = 3;
/** A window in which the server used less of its CPU than this had to share it. */
const OWN_CPU_PCT = 90;

/** One throughput figure of every configuration, compared with the first bare server. */
interface Throughput {
  name: string;
  /** Per configuration, per round. */
  values: number[][];
  /** Per configuration, per round: (value / bare's − 1) in %. */
  vsBare: number[][];
  /** The A/A noise floor, in %. */
  floor: number;
}

function throughput(name: string, values: number[][]): Throughput {
  const base = values[0]!;
  const vsBare = values.map((v) => v.map((x, i) => (x / base[i]! - 1) * 100));
  return { name, values, vsBare, floor: noiseFloor(summarize(vsBare[1]!).median, vsBare[1]!) };
}

/** A configuration's loss against the bare app, in % (positive: slower), on one figure. */
interface Loss {
  loss: number;
  floor: number;
  /** Larger than the floor. */
  resolved: boolean;
}

function lossOf(t: Throughput, index: number): Loss | undefined {
  if (index < 0) return undefined;
  const median = summarize(t.vsBare[index]!).median;
  return { loss: -median, floor: t.floor, resolved: Math.abs(median) > t.floor };
}

const int = (x: number) =>
  Number.isFinite(x) ? x.toLocaleString('en', { maximumFractionDigits: 0 }) : 'n/a';
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} ms` : 'n/a');
const sign = (x: number) => (x > 0 ? '+' : x < 0 ? '−' : '');
/** A signed percentage (`+1.2%`, `−0.4%`), `n/a` when not finite. */
export const signedPct = (x: number) =>
  Number.isFinite(x) ? `${sign(x)}${Math.abs(x).toFixed(1)}%` : 'n/a';
const signedMs = (x: number) =>
  Number.isFinite(x) ? `${sign(x)}${Math.abs(x).toFixed(2)} ms` : 'n/a';
const allFinite = (values: readonly number[]) => values.every(Number.isFinite);

/** `median [q1 … q3]` of per-round differences. */
export function pairedCell(values: readonly number[], fmt: (x: number) => string): string {
  if (!allFinite(values)) return 'n/a';
  const s = summarize(values);
  return `${fmt(s.median)} [${fmt(s.q1)} … ${fmt(s.q3)}]`;
}

function spreadCell(values: readonly number[], fmt: (x: number) => string): string {
  if (!allFinite(values)) return 'n/a';
  const s = summarize(values);
  return `${fmt(s.min)} – ${fmt(s.max)}`;
}

export function throughputReport(input: ThroughputInput): ScenarioReport {
  const { runs, settings } = input;
  const { name, id, peer, goalsIssue } = FRAMEWORKS[input.framework];
  const peerName = peer?.name ?? 'the peer';
  const results = runs.map((r) => r.results);
  const perSecond = throughput(
    'req/s',
    results.map((rs) => rs.map((r) => (r.responses * 1000) / r.windowMs)),
  );
  const serverCpu = results.map((rs) =>
    rs.map((r) => (r.serverCpuMs !== undefined ? (r.serverCpuMs / r.windowMs) * 100 : NaN)),
  );
  const clientCpu = results.map((rs) => rs.map((r) => (r.clientCpuMs / r.windowMs) * 100));
  const cpuKnown = serverCpu.every(allFinite);
  const perCpuSecond = cpuKnown
    ? throughput(
        'req per server CPU-second',
        results.map((rs) => rs.map((r) => (r.responses * 1000) / r.serverCpuMs!)),
      )
    : undefined;
  // What the goals are decided on (see the file comment).
  const basis = perCpuSecond ?? perSecond;

  const label = (i: number) => (i === 1 ? `${runs[i]!.label}: noise floor` : runs[i]!.label);
  const throughputRows = runs.map((_, i) => {
    const rps = perSecond.values[i]!;
    return [
      label(i),
      int(summarize(rps).median),
      spreadCell(rps, int),
      fmtPct(summarize(rps).iqrPct),
      i === 0 ? '—' : pairedCell(perSecond.vsBare[i]!, signedPct),
      perCpuSecond ? int(summarize(perCpuSecond.values[i]!).median) : 'n/a',
      perCpuSecond ? fmtPct(summarize(perCpuSecond.values[i]!).iqrPct) : 'n/a',
      i === 0 || !perCpuSecond ? '—' : pairedCell(perCpuSecond.vsBare[i]!, signedPct),
      cpuKnown ? `${summarize(serverCpu[i]!).median.toFixed(0)}%` : 'n/a',
      `${summarize(clientCpu[i]!).median.toFixed(0)}%`,
    ];
  });
  const p50 = results.map((rs) => rs.map((r) => r.latency.p50));
  const p99 = results.map((rs) => rs.map((r) => r.latency.p99));
  const latencyRows = runs.map((_, i) => [
    label(i),
    ms(summarize(p50[i]!).median),
    spreadCell(p50[i]!, ms),
    i === 0 ? '—' : pairedCell(diffs(p50[i]!, p50[0]!), signedMs),
    ms(summarize(p99[i]!).median),
    spreadCell(p99[i]!, ms),
    i === 0 ? '—' : pairedCell(diffs(p99[i]!, p99[0]!), signedMs),
  ]);

  const oursIndex = runs.findIndex((r) => r.group === 'ours');
  const peerIndex = runs.findIndex((r) => r.group === 'peer');
  const windows = serverCpu.flat();
  const ownCpu = windows.filter((x) => x >= OWN_CPU_PCT).length;

  const lines = [
    `### ${name} — throughput over a real socket (autocannon)`,
    '',
    table(
      [
        'configuration',
        'req/s (median)',
        'min – max (rounds)',
        'IQR',
        'req/s vs bare, paired per round: median [q1 … q3]',
        'req per server CPU-second (median)',
        'IQR',
        'vs bare, paired',
        'server CPU',
        'load generator CPU',
      ],
      throughputRows,
    ),
    '',
    `**Noise floor** (A/A: two identical bare servers, compared like the others): ${fmtPct(perSecond.floor)} of req/s` +
      (perCpuSecond ? `, ${fmtPct(perCpuSecond.floor)} of req per server CPU-second` : '') +
      '. ' +
      [
        effectLine(
          'ours',
          lossOf(perSecond, oursIndex),
          perCpuSecond && lossOf(perCpuSecond, oursIndex),
        ),
        effectLine(
          peerName,
          lossOf(perSecond, peerIndex),
          perCpuSecond && lossOf(perCpuSecond, peerIndex),
        ),
      ]
        .filter((x) => x !== '')
        .join(' '),
    '',
    cpuKnown
      ? `The server had at least ${OWN_CPU_PCT}% of its CPU in ${ownCpu} of ${windows.length} measured windows (median ${summarize(windows).median.toFixed(0)}%)` +
        (ownCpu < windows.length / 2
          ? ': **other work took much of its CPU**, so req/s here measures the scheduler as much as the app; req per server CPU-second, which the goals use, is the steadier figure.'
          : '.') +
        ` The load generator used at most ${Math.max(...clientCpu.flat()).toFixed(0)}% of its CPU: the server is the bottleneck.`
      : `The server's CPU time is not known here (no /proc): the goals use req/s.`,
    '',
    `### ${name} — latency (p50 and p99 of each window's responses)`,
    '',
    table(
      [
        'configuration',
        'p50 (median of rounds)',
        'min – max',
        'vs bare, paired',
        'p99 (median of rounds)',
        'min – max',
        'vs bare, paired',
      ],
      latencyRows,
    ),
    '',
    `Set-up: ${settings.rounds} rounds; in each, every configuration — its own server process, ${settings.processes > 1 ? `a fresh one for each of ${settings.processes} equal parts of the rounds, ` : ''}loaded for a few seconds before its first round — gets ${settings.warmupMs} ms of load (discarded) and then a ${settings.measureMs} ms measured window, in a new random order every round. ${settings.connections} keep-alive connections, no pipelining, each cycling through the request mix: ${mixLine()}. ${input.pinning}. ` +
      `Load average (1/5/15 min): ${input.load.start} at the start, ${input.load.end} at the end. ${input.seconds.toFixed(0)} s.` +
      (input.remeasured > 0
        ? ` ${input.remeasured} window(s) in which a server answered nothing (it got no CPU) were measured again.`
        : ''),
    '',
    'Recorded: ' +
      (input.checks.length === 0
        ? 'no metrics middleware measured.'
        : input.checks
            .map(
              (c) =>
                `${c.label} → ${c.where}: ${c.recorded.toLocaleString('en')} requests counted, ${c.answered.toLocaleString('en')} answered (${c.detail})`,
            )
            .join('; ') +
          `. Our server is configured by SPECTATOR_URI / SPECTATOR_STEP_MS, as a user runs it, and publishes to a local @spectator/atlas-dev endpoint every ${input.stepMs / 1000} s; ${peerName}'s /metrics is scraped at the same interval. Counted may exceed answered by the requests in flight when a window's connections were closed.`),
    ...(input.skipped ? ['', `**Our adapter skipped:** ${input.skipped}`] : []),
  ];

  return {
    id,
    title: `Throughput under a real load generator (${name})`,
    markdown: lines.join('\n'),
    goals:
      goalsIssue === undefined
        ? []
        : goals(name, goalsIssue, peerName, basis, perSecond, oursIndex, peerIndex, input.skipped),
  };
}

function goals(
  name: string,
  issue: string,
  peerName: string,
  basis: Throughput,
  perSecond: Throughput,
  oursIndex: number,
  peerIndex: number,
  skipped: string | undefined,
): Goal[] {
  const ours = lossOf(basis, oursIndex);
  const peer = lossOf(basis, peerIndex);
  const out: Goal[] = [];
  const also = (i: number) =>
    basis === perSecond
      ? ''
      : `; req/s: ${pairedCell(perSecond.vsBare[i]!, signedPct)}, floor ${fmtPct(perSecond.floor)}`;
  if (ours === undefined)
    out.push({
      goal: `${name} throughput with our middleware vs the bare app (${issue})`,
      target: `≥ −${MAX_LOSS_PCT}%`,
      measured: 'n/a',
      detail: `not measured: ${skipped ?? 'no adapter'}`,
      met: undefined,
    });
  else {
    // Decided when the estimate is farther from the target than the noise floor.
    const decided = Math.abs(ours.loss - MAX_LOSS_PCT) > ours.floor;
    out.push({
      goal: `${name} throughput with our middleware vs the bare app (${issue}; ${basis.name}, paired per round)`,
      target: `≥ −${MAX_LOSS_PCT}%`,
      measured: signedPct(-ours.loss),
      detail:
        `ours ${pairedCell(basis.vsBare[oursIndex]!, signedPct)} vs bare; A/A floor ${fmtPct(ours.floor)}` +
        (decided
          ? ''
          : `: nearer to the ${MAX_LOSS_PCT}% target than the floor, this run cannot decide`) +
        also(oursIndex),
      met: ours.loss <= MAX_LOSS_PCT,
      resolved: decided,
    });
  }
  if (ours !== undefined && peer !== undefined) {
    // Our loss, when within the floor, counts as the floor: the ratio is then at least
    // peer / floor, which decides.
    const ratio = peer.loss / Math.max(ours.loss, ours.floor);
    out.push({
      goal: `${name} throughput loss, ${peerName}'s / ours (${issue}; ${basis.name})`,
      target: `≥ ${PEER_LOSS_FACTOR}x`,
      measured: ours.resolved
        ? `${ratio.toFixed(2)}x`
        : `≥ ${ratio.toFixed(2)}x (ours within the floor)`,
      detail:
        `loss: ours ${signedPct(ours.loss)}, ${peerName} ${signedPct(peer.loss)}; A/A floor ${fmtPct(ours.floor)}` +
        (peer.resolved ? '' : `; ${peerName}'s loss is within the floor too`),
      met: ratio >= PEER_LOSS_FACTOR,
      // With our loss within the floor the ratio is a lower bound: it can only decide a pass.
      resolved: peer.resolved && (ours.resolved || ratio >= PEER_LOSS_FACTOR),
    });
  }
  return out;
}

/** Per round: x − base. */
function diffs(x: readonly number[], base: readonly number[]): number[] {
  return x.map((v, i) => v - base[i]!);
}

function effectLine(who: string, perSecond: Loss | undefined, perCpu: Loss | undefined): string {
  if (perSecond === undefined) return '';
  const res = (x: Loss) => (x.resolved ? 'resolved' : 'within the floor');
  return (
    `Loss of ${who}: ${signedPct(perSecond.loss)} of req/s (${res(perSecond)})` +
    (perCpu ? `, ${signedPct(perCpu.loss)} of req per server CPU-second (${res(perCpu)})` : '') +
    '.'
  );
}

function mixLine(): string {
  return REQUEST_MIX.map(
    (r) => `${r.method} ${r.path}${r.body !== undefined ? ' (JSON body)' : ''} → ${r.status}`,
  ).join(', ');
}
