/**
 * What a Netflix server group (ASG) name says, as Java Spectator's `ServerGroup` parses it.
 *
 * @example
 * ```ts
 * const { app, cluster }: ServerGroupParts = parseServerGroup('shop-main-v001'); // shop, shop-main
 * ```
 */
export interface ServerGroupParts {
  /** The application (`app` of `app-stack-detail-v001`), `undefined` when the name has none. */
  readonly app: string | undefined;
  /** The cluster (the name without its `-vNNN` sequence), `undefined` when it has no app. */
  readonly cluster: string | undefined;
}

/**
 * Parses a server group name by Netflix's (Frigga's) naming convention, `app-stack-detail-vNNN`,
 * exactly as Java Spectator's `ServerGroup.parse` does: the app is the part before the first
 * `-` (or the whole name without one); the cluster is the name without a final `-v` and 3 to 6
 * digits (or the whole name without such a sequence); a name starting with `-` has neither.
 *
 * @example
 * ```ts
 * parseServerGroup('shop-main-canary-v042'); // { app: 'shop', cluster: 'shop-main-canary' }
 * parseServerGroup('shop'); // { app: 'shop', cluster: 'shop' }
 * ```
 */
export function parseServerGroup(asg: string): ServerGroupParts {
  const d1 = asg.indexOf('-');
  let dN = asg.lastIndexOf('-');
  if (dN < 0 || !isSequence(asg, dN)) dN = asg.length;
  if (d1 === 0) return { app: undefined, cluster: undefined };
  const app = d1 < 0 ? (asg.length > 0 ? asg : undefined) : asg.slice(0, d1);
  const cluster = dN > 0 ? asg.slice(0, dN) : undefined;
  return { app, cluster };
}

/** The part after the dash at `dN` is a sequence: `v` and 3 to 6 digits. */
function isSequence(asg: string, dN: number): boolean {
  const length = asg.length - dN;
  if (length < 5 || length > 8 || asg[dN + 1] !== 'v') return false;
  for (let i = dN + 2; i < asg.length; i++) {
    const c = asg.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
