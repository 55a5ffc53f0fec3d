/**
 * The graph page's script, run in the browser: it is served as the source text of
 * {@link graphPageClient}, so the function must be self-contained (no imports, no outer
 * variables). Everything it shows from the endpoint goes in with `textContent` or DOM
 * properties, never as markup: tag values and legends are whatever clients published (or a
 * link's expression holds), and their control and bidi characters are shown as escapes, as
 * everywhere else the endpoint shows them.
 */

// The browser API the page uses, declared here: the package compiles against Node's types only.
interface PageNode {
  textContent: string | null;
  hidden: boolean;
  readonly clientWidth: number;
  readonly dataset: Record<string, string | undefined>;
  replaceChildren(...nodes: (PageNode | string)[]): void;
  append(...nodes: (PageNode | string)[]): void;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
}
interface PageField extends PageNode {
  value: string;
  checked: boolean;
  readonly options: ArrayLike<{ readonly value: string }>;
  add(option: unknown): void;
  select(): void;
}
interface Browser {
  readonly document: {
    readonly body: PageNode;
    getElementById(id: string): PageField | null;
    createElement(tag: string): PageNode;
  };
  readonly location: {
    readonly search: string;
    readonly origin: string;
    readonly pathname: string;
  };
  readonly history: { replaceState(state: null, title: string, url: string): void };
  readonly navigator: { readonly clipboard?: { writeText(text: string): Promise<void> } };
  readonly Option: new (text: string, value: string) => unknown;
  readonly uPlot: UPlotConstructor;
  addEventListener(type: string, listener: () => void): void;
}

/** The part of uPlot's API the page uses (uPlot is loaded as a global by its own script). */
interface UPlotChart {
  setData(data: (number | null)[][]): void;
  setSize(size: { width: number; height: number }): void;
  destroy(): void;
}
type UPlotConstructor = new (
  options: Record<string, unknown>,
  data: (number | null)[][],
  target: PageNode,
) => UPlotChart;

/**
 * Runs the page: meter and group-by pickers, expression box, chart, link, refresh.
 * @param unsafe the source of the pattern of the characters shown as escapes (`escapeControl`'s)
 */
export function graphPageClient(unsafe: string): void {
  const browser = globalThis as unknown as Browser;
  const { document, location, history, navigator } = browser;
  const body = document.body;
  const maxLines = Number(body.dataset.maxLines);
  const colours = (body.dataset.colours ?? '').split(',');
  const refreshMs = Number(body.dataset.refreshMs);
  const tablePath = body.dataset.tablePath ?? '/table';
  const unsafeChars = new RegExp(unsafe, 'g');
  /** Text as shown: control and bidi characters as `\x1b`, `\u202e`. */
  const visible = (s: string): string =>
    s.replace(unsafeChars, (c) => {
      const code = c.charCodeAt(0);
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`;
    });
  const byId = (id: string): PageField => document.getElementById(id) as PageField;
  const meter = byId('meter');
  const group = byId('group');
  const range = byId('range');
  const auto = byId('auto');
  const expr = byId('expr');
  const form = byId('graph-form');
  const link = byId('link');
  const copy = byId('copy');
  const error = byId('error');
  const notice = byId('notice');
  const chartBox = byId('chart');
  const status = byId('status');
  const empty = byId('empty');
  const tableLink = byId('table-link') as PageField & { href: string };
  const UPlot = browser.uPlot;
  let chart: UPlotChart | undefined;
  let chartLabels = '';
  let drawing = 0;
  /** `percentiles`, `rate` or `gauge`: what the chosen meter is drawn as. */
  let meterKind = 'rate';

  const setState = (state: string): void => {
    body.dataset.state = state;
  };

  /** A literal as the stack language needs it: commas, colons, blanks and lone parentheses escaped. */
  const escapeLiteral = (s: string): string => {
    if (s === '(' || s === ')') return s === '(' ? '\\u0028' : '\\u0029';
    return s.replace(/[,:\s]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  };

  const getJson = async (url: string): Promise<unknown> => {
    const res = await fetch(url, { headers: { accept: 'application/json' } });
    const data: unknown = await res.json();
    if (!res.ok) {
      const message = (data as { message?: string }).message ?? `HTTP ${res.status}`;
      const failure = new Error(message) as Error & {
        position?: { offset: number; length: number };
      };
      failure.position = (data as { position?: { offset: number; length: number } }).position;
      throw failure;
    }
    return data;
  };

  const fillSelect = (select: PageField, values: readonly string[], first?: string): void => {
    select.replaceChildren();
    if (first !== undefined) select.add(new browser.Option(first, ''));
    for (const v of values) select.add(new browser.Option(visible(v), v));
  };

  const pageLink = (): string => {
    const params = new URLSearchParams({ q: expr.value.trim(), s: range.value });
    return `${location.origin}${location.pathname}?${params.toString()}`;
  };

  const showError = (message: string, position?: { offset: number; length: number }): void => {
    error.replaceChildren();
    const text = document.createElement('div');
    text.textContent = visible(message);
    error.append(text);
    if (position !== undefined) {
      // The expression with the failing token marked.
      const q = expr.value.trim();
      const where = document.createElement('code');
      const mark = document.createElement('mark');
      mark.textContent =
        visible(q.slice(position.offset, position.offset + position.length)) || ' ';
      where.append(
        visible(q.slice(0, position.offset)),
        mark,
        visible(q.slice(position.offset + position.length)),
      );
      error.append(where);
    }
    error.hidden = false;
  };

  const buildExpression = (): void => {
    if (meter.value === '') return;
    const base = `name,${escapeLiteral(meter.value)},:eq`;
    const by = group.value === '' ? '' : `,(,${escapeLiteral(group.value)},),:by`;
    expr.value =
      meterKind === 'percentiles'
        ? `${base}${by},(,50,90,99,),:percentiles`
        : meterKind === 'rate'
          ? `${base},statistic,count,:eq,:and,:sum${by}`
          : `${base},:max${by}`;
  };

  const draw = async (): Promise<void> => {
    const q = expr.value.trim();
    if (q === '') return;
    const mine = ++drawing;
    setState('loading');
    const params = new URLSearchParams({
      q,
      s: range.value,
      e: 'now',
      format: 'json',
      w: String(Math.max(100, Math.floor(chartBox.clientWidth))),
    });
    let data: { start: number; step: number; legend: string[]; values: (number | string)[][] };
    try {
      data = (await getJson(`/api/v1/graph?${params.toString()}`)) as typeof data;
    } catch (err) {
      if (mine !== drawing) return;
      const e = err as Error & { position?: { offset: number; length: number } };
      showError(e.message, e.position);
      setState('error');
      return;
    }
    if (mine !== drawing) return;
    error.hidden = true;
    history.replaceState(null, '', pageLink());
    link.value = pageLink();
    const shown = data.legend.slice(0, maxLines).map(visible);
    notice.textContent =
      data.legend.length > maxLines
        ? `Showing the first ${maxLines} of ${data.legend.length} lines: the page draws at most ${maxLines}.`
        : `${data.legend.length} line${data.legend.length === 1 ? '' : 's'} (the page draws at most ${maxLines}).`;
    const xs = data.values.map((_, i) => (data.start + i * data.step) / 1000);
    const columns = shown.map((_, j) =>
      data.values.map((row) => (typeof row[j] === 'number' ? (row[j] as number) : null)),
    );
    const labels = JSON.stringify(shown);
    if (chart !== undefined && labels === chartLabels) {
      chart.setData([xs, ...columns]);
    } else {
      chart?.destroy();
      chartLabels = labels;
      chart = new UPlot(
        {
          width: Math.max(300, chartBox.clientWidth),
          height: 380,
          scales: { x: { time: true } },
          axes: [{}, { size: 80 }],
          series: [
            {},
            ...shown.map((label, j) => ({
              label,
              stroke: colours[j % colours.length],
              width: 2,
              // A value between two gaps (a counter that moved once) would be no line at all:
              // it is drawn as a dot.
              points: {
                show: true,
                size: 6,
                fill: colours[j % colours.length],
                filter: (u: { data: (number | null)[][] }, series: number): number[] => {
                  const ys = u.data[series] ?? [];
                  const lone: number[] = [];
                  ys.forEach((y, i) => {
                    if (y !== null && (ys[i - 1] ?? null) === null && (ys[i + 1] ?? null) === null)
                      lone.push(i);
                  });
                  return lone;
                },
              },
            })),
          ],
        },
        [xs, ...columns],
        chartBox,
      );
    }
    status.textContent = `updated ${new Date().toLocaleTimeString()} · step ${data.step / 1000} s`;
    body.dataset.lines = String(shown.length);
    setState('drawn');
  };

  const chooseMeter = async (): Promise<void> => {
    const name = meter.value;
    if (name === '') return;
    tableLink.href = `${tablePath}?q=${encodeURIComponent(name)}`;
    const q = encodeURIComponent(`name,${escapeLiteral(name)},:eq`);
    const [keys, statistics] = (await Promise.all([
      getJson(`/api/v1/tags?q=${q}`),
      getJson(`/api/v1/tags/statistic?q=${q}`),
    ])) as [string[], string[]];
    const hidden = new Set(['name', 'statistic', 'percentile']);
    fillSelect(
      group,
      keys.filter((k) => !hidden.has(k)),
      '(none)',
    );
    meterKind = statistics.includes('percentile')
      ? 'percentiles'
      : statistics.includes('count')
        ? 'rate'
        : 'gauge';
    buildExpression();
    await draw();
  };

  const report = (err: unknown): void => {
    showError(err instanceof Error ? err.message : String(err));
    setState('error');
  };

  meter.addEventListener('change', () => void chooseMeter().catch(report));
  group.addEventListener('change', () => {
    buildExpression();
    void draw().catch(report);
  });
  range.addEventListener('change', () => void draw().catch(report));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void draw().catch(report);
  });
  copy.addEventListener('click', () => {
    link.value = pageLink();
    link.select();
    const done = (): void => {
      copy.textContent = 'Copied';
      setTimeout(() => (copy.textContent = 'Copy link'), 1500);
    };
    if (navigator.clipboard === undefined) return;
    navigator.clipboard.writeText(link.value).then(done, () => undefined);
  });
  browser.addEventListener('resize', () => {
    chart?.setSize({ width: Math.max(300, chartBox.clientWidth), height: 380 });
  });
  const start = async (): Promise<void> => {
    const params = new URLSearchParams(location.search);
    const s = params.get('s');
    if (s !== null && s !== '') {
      if (!Array.from(range.options).some((o) => o.value === s))
        range.add(new browser.Option(s, s));
      range.value = s;
    }
    const meters = (await getJson('/api/v1/tags/name')) as string[];
    fillSelect(meter, meters, meters.length === 0 ? '(nothing received yet)' : '(choose a meter)');
    empty.hidden = meters.length > 0;
    const q = params.get('q');
    if (q !== null && q !== '') {
      expr.value = q;
      await draw();
    } else if (meters.length > 0) {
      meter.value = meters[0] as string;
      await chooseMeter();
    } else {
      setState('empty');
    }
  };
  setInterval(() => {
    // Until something arrives, look for meters; then redraw while auto-refresh is on.
    if (body.dataset.state === 'empty') void start().catch(report);
    else if (auto.checked && body.dataset.state !== 'loading') void draw().catch(report);
  }, refreshMs);
  void start().catch(report);
}
