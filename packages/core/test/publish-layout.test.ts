/**
 * The Atlas output publishes most meters through the layout of their id's key list (worked out
 * once per key list, nothing kept per meter): the tags it builds must be exactly those of the
 * full resolution (`resolvePublishTags`), and every id whose tags need more than a layout gives
 * (a reserved key to leave out and warn about, a tag the aggregator rejects) must fall back to it.
 */
import { describe, expect, it } from 'vitest';
import { Id } from '../src/ids/id.js';
import { Counter } from '../src/meters/counter.js';
import { PercentileTimer } from '../src/meters/percentile-timer.js';
import { layoutTags, publishLayout } from '../src/outputs/atlas/publish-layout.js';
import { resolvePublishTags } from '../src/outputs/atlas/publish-tags.js';

const COMMON = { 'nf.app': 'shop', 'nf.region': 'us-east-1', 'zz.common': 'a b' };

function viaLayout(id: Id, common: Record<string, string>): string[] | undefined {
  const layout = publishLayout(id.keys, common);
  return layout === undefined ? undefined : layoutTags(layout, id);
}

describe('publish layout (the Atlas output keeps no tags per meter)', () => {
  it.each([
    ['plain', Id.create('server.requests', { status: '200', method: 'GET', route: '/a' })],
    ['no tags', Id.create('jobs.done')],
    ['values and name to sanitize', Id.create('a b/c', { route: '/users/:id', 'x y': 'é' })],
    ['a key overriding a common tag', Id.create('req', { 'nf.app': 'other', zz_common: 'z' })],
    ['a key sanitized onto a common key', Id.create('req', { 'zz common': 'mine' })],
  ])('gives the tags of the full resolution: %s', (_, id) => {
    for (const common of [COMMON, {}]) {
      const full = resolvePublishTags(new Counter(id), common);
      expect(full.statisticsProblem).toBeUndefined();
      expect(viaLayout(id, common)).toEqual(full.tags);
    }
  });

  it('leaves ids with a reserved tag key to the full resolution (it warns about them)', () => {
    expect(publishLayout(Id.create('req', { statistic: 'x' }).keys, {})).toBeUndefined();
    expect(publishLayout([], { percentile: 'x' })).toBeUndefined();
  });

  it('leaves ids the aggregator would reject to the full resolution (it says why)', () => {
    const tooMany = Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`k${i}`, 'v']));
    const id = Id.create('pt', tooMany);
    // 19 tags and name: the statistics pass, the buckets (one more tag) would not.
    expect(
      resolvePublishTags(new PercentileTimer(id, { min: 0, max: 1 }), {}).bucketsProblem,
    ).toBeDefined();
    expect(publishLayout(id.keys, {})).toBeUndefined();
    expect(publishLayout(Id.create('req', { k: 'v' }).keys, {})).toBeUndefined(); // key too short
    const layout = publishLayout(Id.create('req', { kk: 'v' }).keys, {})!;
    expect(layoutTags(layout, Id.create('req', { kk: 'v'.repeat(121) }))).toBeUndefined();
    expect(layoutTags(layout, Id.create('r', { kk: 'v' }))).toBeUndefined(); // name too short
    expect(layoutTags(layout, Id.create('req', { kk: 'v'.repeat(120) }))).toBeDefined();
  });
});
