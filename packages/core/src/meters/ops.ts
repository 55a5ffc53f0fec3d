/** Aggregator operation codes (see `docs/atlas-protocol.md`, "Operations"). */

/** The aggregator sums the values from all instances. */
export const OP_ADD = 0;
/** The aggregator keeps the largest value from all instances. */
export const OP_MAX = 10;

export type AtlasOp = typeof OP_ADD | typeof OP_MAX;
