/** Why measurements were not delivered, as counted in `spectator.measurements{id=dropped}`. */
export type DropReason = 'validation' | 'http-error' | 'other';

/** What one `publish()` did. `publish()` resolves with this and never rejects. */
export interface PublishResult {
  /** Measurements the aggregator accepted. */
  sent: number;
  /** Measurements that were not delivered (sum of `droppedBy`). */
  dropped: number;
  /** Dropped measurements by reason. */
  droppedBy: Record<DropReason, number>;
  /** Publish requests made (including retries). */
  requests: number;
  /** Set when nothing was attempted, and why. */
  skipped?: 'no-uri' | 'stopped';
  /** Short descriptions of what went wrong, for logs and tests. */
  errors: string[];
}

/** An empty result to fill in. */
export function emptyPublishResult(): PublishResult {
  return {
    sent: 0,
    dropped: 0,
    droppedBy: { validation: 0, 'http-error': 0, other: 0 },
    requests: 0,
    errors: [],
  };
}
