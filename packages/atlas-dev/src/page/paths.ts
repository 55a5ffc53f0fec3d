/**
 * Where the endpoint serves its pages, their files and its read APIs. The pages link to each
 * other and to the APIs by these, so they are defined once.
 */

/** The main page: the graph page (choose a meter, group by a tag, any expression). */
export const GRAPH_PAGE_PATH = '/';
/** The second view: the bounded, filterable table of the series with a sparkline each. */
export const TABLE_PAGE_PATH = '/table';
/** The graph page's script and stylesheets (uPlot's included), under this folder. */
export const PAGE_ASSETS_PATH = '/assets';
/** The stored series with their totals as JSON, a page at a time. */
export const SERIES_API_PATH = '/api/series';
/** Atlas's graph API. */
export const GRAPH_API_PATH = '/api/v1/graph';
/** Atlas's tags API (`/api/v1/tags` and `/api/v1/tags/<key>`). */
export const TAGS_API_PATH = '/api/v1/tags';
