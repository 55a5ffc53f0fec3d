/**
 * `POST <path>`: the publish pipeline. Takes the fault set when the request arrives (if any)
 * and an upload slot, reads the body within the size limit, applies the fault, undoes the
 * `Content-Encoding`, decodes the batch as the aggregator does (in slices, yielding to the
 * event loop), stores what it accepted, keeps the batch, and answers as the aggregator answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ByteTokens } from '../decode/byte-tokens.js';
import { decodePayload, type DecodeResult } from '../decode/payload-decoder.js';
import { seriesLimit, type SeriesStore } from '../store/series-store.js';
import {
  estimateBatchBytes,
  MAX_KEPT_REJECTED,
  type BatchLog,
  type ReceivedBatch,
} from './batch-log.js';
import { applyFault, type AtlasDevFault, type Faults } from './faults.js';
import type { ResolvedOptions } from './options.js';
import { BODY_STALL_MS, bodyEncoding, decompress, readBody } from './read-body.js';
import { sendAccepted, sendDiagnostic, sendValidationFailure } from './responses.js';
import type { UploadSlots } from './upload-slots.js';

/** What the handler works with. */
export interface PublishContext {
  readonly options: ResolvedOptions;
  readonly store: SeriesStore;
  readonly batches: BatchLog;
  readonly faults: Faults;
  readonly slots: UploadSlots;
  /** Control characters already escaped by the caller. */
  readonly log: (line: string) => void;
  /** Tells `'batch'` listeners, before the answer is written. */
  readonly emit: (batch: ReceivedBatch) => void;
}

const SMILE = 'application/x-jackson-smile';

/** Runs a decode in slices, letting the event loop run between them. */
async function decodeInSlices(
  decoding: Generator<void, DecodeResult, void>,
): Promise<DecodeResult> {
  for (;;) {
    const step = decoding.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function mediaTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export class PublishHandler {
  constructor(private readonly ctx: PublishContext) {}

  /** Handles one publish request; resolves once it is answered (or left hanging by a fault). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const waiting = this.ctx.slots.acquire();
    if (waiting === undefined) {
      req.resume();
      this.ctx.log(`POST ${this.ctx.options.path} 503: too many uploads at once`);
      sendDiagnostic(res, 503, 'too many uploads at once, try again later', {
        'retry-after': '1',
        connection: 'close',
      });
      return;
    }
    // Decided on arrival, not once the body is in: a test that clears the fault while a slow
    // client is still sending must not see that request stored.
    const fault = this.ctx.faults.take();
    const release = await waiting;
    try {
      await this.publish(req, res, fault);
    } finally {
      release();
    }
  }

  private async publish(
    req: IncomingMessage,
    res: ServerResponse,
    fault: AtlasDevFault | undefined,
  ): Promise<void> {
    const { options, log } = this.ctx;
    const label = `POST ${options.path}`;
    const encodingHeader = req.headers['content-encoding'];
    const raw = await readBody(req, options.maxBodyBytes);
    if (raw.kind === 'aborted') {
      log(`${label}: client aborted the request`);
      return;
    }
    if (raw.kind === 'stalled') {
      log(`${label} 408: the body stalled (nothing for ${BODY_STALL_MS / 1000} s)`);
      sendDiagnostic(res, 408, `request body stalled: nothing received for ${BODY_STALL_MS} ms`, {
        connection: 'close',
      });
      return;
    }
    if (fault !== undefined) {
      applyFault(fault, req, res, log, label);
      return;
    }
    const receivedAt = options.now();
    const encoding = bodyEncoding(encodingHeader);
    const base = {
      receivedAt,
      gzip: encoding === 'gzip',
      encoding: encoding ?? String(encodingHeader),
    };
    /** The whole request refused: kept as a batch with `error`, answered with `answer`. */
    const refuse = (status: number, error: string, answer: () => void): void => {
      const batch: ReceivedBatch = {
        ...base,
        status,
        measurements: [],
        acceptedCount: 0,
        rejected: [],
        rejectedCount: 0,
        warnings: [],
        error,
      };
      this.keep(batch, 0, answer);
    };
    const tooLarge = (bytes: number | undefined): void => {
      const error =
        `EntityStreamSizeException: incoming entity size (${bytes ?? `> ${options.maxBodyBytes}`}) ` +
        `exceeded size limit (${options.maxBodyBytes} bytes)`;
      refuse(413, error, () => sendDiagnostic(res, 413, error, { connection: 'close' }));
    };
    if (raw.kind === 'too-large') {
      tooLarge(raw.bytes);
      return;
    }
    if (mediaTypeOf(req) === SMILE) {
      const error = `${SMILE} bodies are not supported by this endpoint; send application/json`;
      refuse(415, error, () => sendDiagnostic(res, 415, error));
      return;
    }
    let data = raw.data;
    // As the aggregator (Pekko's decodeRequest): an empty body is never decoded.
    if (data.length > 0) {
      if (encoding === undefined) {
        const error = `UnsupportedRequestEncodingRejection: Content-Encoding ${String(encodingHeader)}; the aggregator decodes gzip, deflate or identity`;
        refuse(400, error, () => sendDiagnostic(res, 400, error));
        return;
      }
      const plain = await decompress(data, encoding, options.maxBodyBytes);
      if (plain.kind === 'too-large') {
        tooLarge(undefined);
        return;
      }
      if (plain.kind === 'corrupt') {
        // The aggregator's error handler maps Pekko's IllegalRequestException to 500.
        const error = `IllegalRequestException: The request's encoding is corrupt: ${plain.message}`;
        refuse(500, error, () => sendDiagnostic(res, 500, error));
        return;
      }
      data = plain.data;
      if (data.length === 0) {
        // Pekko keeps only non-empty chunks of a decoded body, and the aggregator's reduce over
        // none fails; its error handler maps that to 404.
        const error = 'NoSuchElementException: reduce over empty stream';
        refuse(404, error, () => sendDiagnostic(res, 404, error));
        return;
      }
    }

    const dropped = this.ctx.store.droppedMeasurements;
    const result = await decodeInSlices(
      decodePayload(new ByteTokens(data), {
        keepMeasurements: options.maxBatchMeasurements,
        keepRejected: MAX_KEPT_REJECTED,
        onMeasurement: (m) => {
          this.ctx.store.add(m.tags, m.op, m.value, receivedAt);
        },
      }),
    );
    const warnings = [...result.warnings];
    const mediaType = mediaTypeOf(req);
    if (mediaType !== 'application/json') {
      warnings.unshift(
        `Content-Type ${mediaType === '' ? 'missing' : mediaType}: the aggregator reads any body as JSON, a client should say application/json`,
      );
    }
    if (result.acceptedCount > result.measurements.length) {
      warnings.push(
        `${result.acceptedCount} measurements accepted; the first ${result.measurements.length} kept in this batch (maxBatchMeasurements), all stored as series`,
      );
    }
    const notStored = this.ctx.store.droppedMeasurements - dropped;
    if (notStored > 0) {
      warnings.push(
        `${notStored} measurements of new series not stored: the series limit (${seriesLimit(this.ctx.store)}) is reached`,
      );
    }
    const status = result.ok
      ? result.rejectedCount === 0
        ? 200
        : result.acceptedCount > 0
          ? 202
          : 400
      : result.status;
    const batch: ReceivedBatch = {
      ...base,
      status,
      measurements: result.measurements,
      acceptedCount: result.acceptedCount,
      rejected: result.rejected,
      rejectedCount: result.rejectedCount,
      warnings,
      ...(result.ok ? {} : { error: result.error }),
    };
    this.keep(batch, estimateBatchBytes(batch, data.length), () => {
      if (!result.ok) sendDiagnostic(res, result.status, result.error);
      else if (status === 200) sendAccepted(res);
      else sendValidationFailure(res, status as 202 | 400, result.rejectedCount, result.rejected);
    });
  }

  /** Keeps the batch, logs it, tells listeners, then answers (so the client sees it kept). */
  private keep(batch: ReceivedBatch, size: number, answer: () => void): void {
    this.ctx.batches.push(batch, size);
    const what = batch.error ?? `${batch.acceptedCount} accepted, ${batch.rejectedCount} rejected`;
    this.ctx.log(
      `POST ${this.ctx.options.path} ${batch.status}${batch.encoding === 'identity' ? '' : ` ${batch.encoding}`}: ${what}`,
    );
    for (const w of batch.warnings) this.ctx.log(`  warning: ${w}`);
    this.ctx.emit(batch);
    answer();
  }
}
