import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { setTimeout as delay } from 'node:timers/promises';
import type { IncomingMessage, OutgoingMessage, Subscription } from '@ledger/bus';
import {
  AdjustStockCommand,
  CommitReservationCommand,
  ConcurrencyRetriesExhaustedError,
  InspectReturnCommand,
  ReceiveReturnCommand,
  ReceiveStockCommand,
  ReleaseReservationCommand,
  ReserveStockCommand,
  SellStockCommand,
  type CommandContext,
  type CommandOutcome,
} from '@ledger/core';
import { DomainError } from '@ledger/domain';
import { EventStoreUnavailableError } from '@ledger/event-store';
import { MetricsService } from '@ledger/platform';
import { Messaging } from '@ledger/relay';
import { ID_MAX_LENGTH, ID_PATTERN } from '../commands/validators';
import { ApiError, type ApiErrorBody, type FieldProblem } from '../errors/api-error';
import { createValidationPipe } from '../commands/validation-pipe';
import {
  COMMAND_TYPES,
  MESSAGE_CLASSES,
  type CommandEnvelope,
  type CommandResultMessage,
  type CommandType,
  type DeadLetterMessage,
  type DeadLetterReason,
} from './command-messages';

/** The same rule as HTTP's X-Correlation-Id: printable ASCII, at most 200 characters. */
const CORRELATION_ID = /^[\x21-\x7e]{1,200}$/;
const SUBSCRIBE_RETRY = { initialDelayMs: 500, maxDelayMs: 30_000 };

type Parsed =
  | { ok: true; command: CommandEnvelope & Record<string, unknown> }
  | { ok: false; reason: DeadLetterReason; fields?: FieldProblem[]; commandId?: string; type?: CommandType };

/**
 * Commands from other systems: a consumer group on `inventory.commands.v1`. Each command is
 * validated with the HTTP DTOs, run through the same CQRS handlers as the HTTP API, and answered on
 * `inventory.command-results.v1`; only then does the handler resolve and the offset move on.
 *
 * - A redelivered command appends nothing: the domain's ids (receiptId, reservationId, ...) make every
 *   command idempotent, and the repeat answers what the first run answered.
 * - Not JSON, not an object, or invalid: to `inventory.commands.dlq.v1` (and a rejected result when
 *   the command id can be read); the partition moves on.
 * - Refused by the domain: a rejected result with the domain's code. Not a dead letter.
 * - Store unreachable or the SKU too busy: the handler throws and the bus delivers the command again
 *   later; nothing is lost.
 * - Anything else: a dead letter with reason `internal error`, so one poison message cannot stall its
 *   partition forever.
 */
@Injectable()
export class CommandIntake implements OnModuleInit {
  private readonly logger = new Logger(CommandIntake.name);
  private readonly validation = createValidationPipe();
  private subscription: Subscription | null = null;
  private starting: Promise<void> | null = null;
  private readonly stopping = new AbortController();

  constructor(
    private readonly messaging: Messaging,
    private readonly commandBus: CommandBus,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.messaging.register({ name: 'command intake', stop: () => this.stop() });
    this.messaging.whenConnected(() => {
      this.starting = this.subscribeUntilDone();
    });
  }

  /** Joined the group and receiving commands. */
  get running(): boolean {
    return this.subscription !== null;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.starting;
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.stop();
  }

  /** Handles one message; resolves once its result (or dead letter) is on the bus. */
  async handle(message: IncomingMessage): Promise<void> {
    const parsed = await this.parse(message);
    if (!parsed.ok) {
      await this.deadLetter(message, parsed.reason, parsed.fields, parsed.commandId);
      this.count(parsed.type ?? 'unknown', 'dead_lettered');
      return;
    }
    const { command } = parsed;
    const context: CommandContext = {
      commandId: command.commandId,
      actor: `kafka:${this.messaging.clientId}`,
      role: 'service',
      correlationId: correlationIdOf(message) ?? command.commandId,
    };
    let result: CommandResultMessage;
    let outcome: string;
    try {
      const done: CommandOutcome = await this.commandBus.execute(toCommand(command, context));
      result = { commandId: command.commandId, status: 'accepted', result: done.result, position: done.position };
      outcome = done.duplicate ? 'duplicate' : 'accepted';
    } catch (error) {
      if (error instanceof DomainError) {
        result = { commandId: command.commandId, status: 'rejected', code: error.code, message: error.message };
        outcome = 'rejected';
      } else if (error instanceof EventStoreUnavailableError || error instanceof ConcurrencyRetriesExhaustedError || this.messaging.isClosing) {
        // Delivered again later (after the bus's backoff, or to the next member after shutdown).
        this.count(command.type, 'retried');
        throw error;
      } else {
        this.logger.error(`command ${command.commandId} (${command.type}) failed unexpectedly; dead-lettered`, (error as Error)?.stack ?? String(error));
        await this.deadLetter(message, 'internal error', undefined, command.commandId);
        this.count(command.type, 'dead_lettered');
        return;
      }
    }
    await this.messaging.bus.publish([this.resultMessage(result, context.correlationId)]);
    this.count(command.type, outcome);
  }

  private async parse(message: IncomingMessage): Promise<Parsed> {
    let value: unknown;
    try {
      if (!message.value || message.value.length === 0) throw new Error('empty');
      value = JSON.parse(message.value.toString('utf8'));
    } catch {
      return { ok: false, reason: 'not valid JSON' };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
    const object = value as Record<string, unknown>;
    const commandId = readableCommandId(object.commandId);
    const type = object.type;
    if (typeof type !== 'string' || !(COMMAND_TYPES as readonly string[]).includes(type)) {
      const fields = [{ field: 'type', problems: [`type must be one of ${COMMAND_TYPES.join(', ')}`] }];
      return { ok: false, reason: 'validation failed', fields, commandId };
    }
    try {
      const command = (await this.validation.transform(object, { type: 'body', metatype: MESSAGE_CLASSES[type as CommandType] })) as CommandEnvelope & Record<string, unknown>;
      return { ok: true, command };
    } catch (error) {
      if (error instanceof ApiError) {
        const body = error.getResponse() as ApiErrorBody;
        return { ok: false, reason: 'validation failed', fields: body.details.fields as FieldProblem[], commandId, type: type as CommandType };
      }
      this.logger.error(`validating a ${type} command failed unexpectedly; dead-lettered`, (error as Error)?.stack ?? String(error));
      return { ok: false, reason: 'internal error', commandId, type: type as CommandType };
    }
  }

  /** The dead letter, and a rejected result when the sender can be told (its command id is readable). */
  private async deadLetter(message: IncomingMessage, reason: DeadLetterReason, fields: FieldProblem[] | undefined, commandId: string | undefined): Promise<void> {
    const letter: DeadLetterMessage = {
      reason,
      ...(fields ? { fields } : {}),
      original: (message.value ?? Buffer.alloc(0)).toString('base64'),
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
    };
    const correlationId = correlationIdOf(message) ?? commandId;
    const headers: Record<string, string> = { 'dlq-reason': reason };
    if (correlationId) headers['correlation-id'] = correlationId;
    const messages: OutgoingMessage[] = [
      { topic: this.messaging.topics.commandsDlq, key: message.key ?? `${message.topic}:${message.partition}:${message.offset}`, value: JSON.stringify(letter), headers },
    ];
    if (commandId) {
      const code = reason === 'internal error' ? 'INTERNAL' : 'VALIDATION_FAILED';
      const text = reason === 'validation failed' && fields ? `invalid command: ${fields.map((f) => `${f.field}: ${f.problems.join('; ')}`).join(', ')}` : reason;
      messages.push(this.resultMessage({ commandId, status: 'rejected', code, message: text }, correlationId ?? commandId));
    }
    await this.messaging.bus.publish(messages);
    this.metrics.intakeDeadLetters.inc({ reason });
  }

  private resultMessage(result: CommandResultMessage, correlationId: string): OutgoingMessage {
    return { topic: this.messaging.topics.commandResults, key: result.commandId, value: JSON.stringify(result), headers: { 'correlation-id': correlationId } };
  }

  private count(type: string, outcome: string): void {
    this.metrics.intakeCommands.inc({ type, outcome });
  }

  private async subscribeUntilDone(): Promise<void> {
    const { signal } = this.stopping;
    for (let attempt = 1; !signal.aborted && !this.messaging.isClosing; attempt++) {
      try {
        const subscription = await this.messaging.bus.subscribe({
          groupId: this.messaging.groupId,
          topics: [this.messaging.topics.commands],
          // A new group takes the commands sent before it first joined, too.
          fromBeginning: true,
          handler: (message) => this.handle(message),
        });
        if (signal.aborted) {
          await subscription.stop();
          return;
        }
        this.subscription = subscription;
        return;
      } catch (error) {
        const wait = Math.min(SUBSCRIBE_RETRY.maxDelayMs, SUBSCRIBE_RETRY.initialDelayMs * 2 ** (attempt - 1));
        this.logger.error(`joining the command intake group failed (attempt ${attempt}): ${(error as Error).message}; retrying in ${wait} ms`);
        await delay(wait, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}

function correlationIdOf(message: IncomingMessage): string | undefined {
  const header = message.headers['correlation-id'];
  return header !== undefined && CORRELATION_ID.test(header) ? header : undefined;
}

function readableCommandId(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= ID_MAX_LENGTH && ID_PATTERN.test(value) ? value : undefined;
}

/** The same CQRS command the HTTP controller would send for this body. */
function toCommand(message: CommandEnvelope & Record<string, unknown>, context: CommandContext): object {
  const { commandId: _commandId, type, sku, ...fields } = message;
  const input = fields as never;
  switch (type) {
    case 'ReceiveStock':
      return new ReceiveStockCommand(sku, input, context);
    case 'AdjustStock':
      return new AdjustStockCommand(sku, input, context);
    case 'ReserveStock':
      return new ReserveStockCommand(sku, input, context);
    case 'CommitReservation':
      return new CommitReservationCommand(sku, { reservationId: String(fields.reservationId) }, context);
    case 'ReleaseReservation':
      return new ReleaseReservationCommand(sku, { reservationId: String(fields.reservationId), reason: fields.reason as never }, context);
    case 'SellStock':
      return new SellStockCommand(sku, input, context);
    case 'ReceiveReturn':
      return new ReceiveReturnCommand(sku, input, context);
    case 'InspectReturn':
      return new InspectReturnCommand(sku, input, context);
  }
}
