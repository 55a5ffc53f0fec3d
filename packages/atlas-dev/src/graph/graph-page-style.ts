/** The graph page's stylesheet (served as a file: the page's content security policy allows no inline style). */
export const GRAPH_PAGE_STYLE = `
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px 24px; color: #111827; background: #ffffff; }
h1 { font-size: 18px; margin: 0 0 4px; }
p.meta { color: #4b5563; margin: 0 0 12px; }
form { display: grid; gap: 8px; margin-bottom: 12px; }
.row { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
label { color: #374151; }
select, textarea, input, button { font: inherit; }
textarea { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; width: 100%; box-sizing: border-box; min-height: 3.2em; }
input#link { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; flex: 1; min-width: 20em; }
#error { background: #fef2f2; border: 1px solid #fca5a5; color: #991b1b; padding: 8px; margin-bottom: 12px; }
#error code { display: block; margin-top: 4px; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap; word-break: break-all; }
#error mark { background: #fde047; }
#chart { min-height: 400px; }
.empty { padding: 24px; margin-bottom: 12px; background: #f9fafb; border: 1px dashed #d1d5db; }
#notice, #status { color: #4b5563; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
`;
