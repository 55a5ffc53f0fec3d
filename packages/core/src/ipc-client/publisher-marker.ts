import { PUBLISHER_MARKER_HEADER } from '../internal/publisher-marker.js';

export { PUBLISHER_MARKER_HEADER };

const MARKER_LENGTH = PUBLISHER_MARKER_HEADER.length;

/**
 * True when an undici request's headers carry {@link PUBLISHER_MARKER_HEADER}. undici 6 and 7 keep
 * headers as a flat `[name, value, name, value, …]` array (names as the caller spelled them; fetch
 * lower-cases them); older undici used one `name: value\r\n` string. Never throws.
 */
export function hasPublisherMarker(headers: unknown): boolean {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      const name: unknown = headers[i];
      // The length test keeps the common case (other headers) to one comparison.
      if (
        typeof name === 'string' &&
        name.length === MARKER_LENGTH &&
        name.toLowerCase() === PUBLISHER_MARKER_HEADER
      )
        return true;
    }
    return false;
  }
  if (typeof headers === 'string')
    return headers.toLowerCase().includes(`${PUBLISHER_MARKER_HEADER}:`);
  return false;
}
