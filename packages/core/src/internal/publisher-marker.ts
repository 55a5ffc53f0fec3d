/**
 * The header the Atlas publisher puts on its own requests, so outbound HTTP instrumentation
 * (`instrumentUndici`) can leave them out: a registry must never measure its own publishing.
 * A plain string, so that every installed copy of this package recognises every other copy's
 * publisher. Aggregators ignore it.
 */
export const PUBLISHER_MARKER_HEADER = 'x-spectator-publisher';
