/**
 * Code-unit order, as Java compares strings (and Atlas sorts tags, labels and lines): the one
 * string comparison of the package's sorts.
 * @example `['b', 'B', 'a'].sort(compareStrings)` // ['B', 'a', 'b']
 */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
