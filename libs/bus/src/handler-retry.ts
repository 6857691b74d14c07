import type { LoggerService } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import type { IncomingMessage, MessageHandler } from './bus.port';

export interface HandlerRetryOptions {
  /** Wait after the first failure; it doubles with each further failure of the same message. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_HANDLER_RETRY: HandlerRetryOptions = { initialDelayMs: 200, maxDelayMs: 30_000 };

export interface HandleUntilSuccessOptions {
  retry: HandlerRetryOptions;
  logger: LoggerService;
  /** Waits between attempts; the Kafka adapter keeps heartbeating meanwhile. */
  pause(ms: number): Promise<void>;
  /** True once the subscription stops: the message is then left unacknowledged, for redelivery. */
  isStopping(): boolean;
}

/**
 * Runs the handler until it resolves: both adapters rely on this to never skip a message. Returns
 * false when the subscription stopped first.
 */
export async function handleUntilSuccess(
  message: IncomingMessage,
  handler: MessageHandler,
  { retry, logger, pause, isStopping }: HandleUntilSuccessOptions,
): Promise<boolean> {
  for (let attempt = 1; !isStopping(); attempt++) {
    try {
      await handler(message);
      return true;
    } catch (error) {
      const delayMs = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
      logger.error(
        `Handler failed on ${message.topic}[${message.partition}]@${message.offset} (attempt ${attempt}); ` +
          `retrying in ${delayMs} ms: ${error instanceof Error ? error.message : String(error)}`,
        error instanceof Error ? error.stack : undefined,
      );
      await pause(delayMs);
    }
  }
  return false;
}

/** A wait that ends early when the signal aborts, so stopping never sits out a long backoff. */
export async function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => undefined);
}
