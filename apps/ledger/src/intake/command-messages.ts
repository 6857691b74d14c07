import { Equals } from 'class-validator';
import {
  AdjustStockDto,
  InspectReturnDto,
  ReceiveReturnDto,
  ReceiveStockDto,
  ReleaseReservationDto,
  ReserveStockDto,
  SellStockDto,
} from '../commands/dto';
import { IsLedgerId } from '../commands/validators';

/**
 * The value of a message on `inventory.commands.v1` (JSON, key: the SKU): `commandId`, `type` and
 * `sku`, then the same fields as the HTTP body of that command, plus the id the HTTP path carries in
 * its URL (`reservationId` for commit and release, `returnId` for inspection). Validated by the command
 * DTOs the HTTP API uses (apps/ledger/src/commands), with the same options: unknown fields are refused.
 */
export const COMMAND_TYPES = [
  'ReceiveStock',
  'AdjustStock',
  'ReserveStock',
  'CommitReservation',
  'ReleaseReservation',
  'SellStock',
  'ReceiveReturn',
  'InspectReturn',
] as const;

export type CommandType = (typeof COMMAND_TYPES)[number];

export interface CommandEnvelope {
  /** The sender's id for this command: the key of its result, recorded in the events' metadata. */
  commandId: string;
  type: CommandType;
  sku: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Constructor = new (...args: any[]) => object;

/** An HTTP body DTO with the envelope's fields added, validated like the DTO's own. */
function commandMessage<Base extends Constructor>(Base: Base, type: CommandType) {
  class CommandMessage extends Base implements CommandEnvelope {
    commandId!: string;
    type!: CommandType;
    sku!: string;
  }
  IsLedgerId()(CommandMessage.prototype, 'commandId');
  Equals(type)(CommandMessage.prototype, 'type');
  IsLedgerId()(CommandMessage.prototype, 'sku');
  return CommandMessage;
}

/** Commit has no HTTP body; its message carries the reservation id the URL would. */
class NoBody {}

export class ReceiveStockMessage extends commandMessage(ReceiveStockDto, 'ReceiveStock') {}
export class AdjustStockMessage extends commandMessage(AdjustStockDto, 'AdjustStock') {}
export class ReserveStockMessage extends commandMessage(ReserveStockDto, 'ReserveStock') {}
export class SellStockMessage extends commandMessage(SellStockDto, 'SellStock') {}
export class ReceiveReturnMessage extends commandMessage(ReceiveReturnDto, 'ReceiveReturn') {}

export class CommitReservationMessage extends commandMessage(NoBody, 'CommitReservation') {
  @IsLedgerId() reservationId!: string;
}

export class ReleaseReservationMessage extends commandMessage(ReleaseReservationDto, 'ReleaseReservation') {
  @IsLedgerId() reservationId!: string;
}

export class InspectReturnMessage extends commandMessage(InspectReturnDto, 'InspectReturn') {
  @IsLedgerId() returnId!: string;
}

export const MESSAGE_CLASSES: Record<CommandType, Constructor> = {
  ReceiveStock: ReceiveStockMessage,
  AdjustStock: AdjustStockMessage,
  ReserveStock: ReserveStockMessage,
  CommitReservation: CommitReservationMessage,
  ReleaseReservation: ReleaseReservationMessage,
  SellStock: SellStockMessage,
  ReceiveReturn: ReceiveReturnMessage,
  InspectReturn: InspectReturnMessage,
};

/** The value of a message on `inventory.command-results.v1` (JSON, key: the command id). */
export interface CommandResultMessage {
  commandId: string;
  /** accepted: the command is in the ledger (now or from an earlier delivery); rejected: it is not. */
  status: 'accepted' | 'rejected';
  /** For rejections: the domain's code (INSUFFICIENT_STOCK, ...), or VALIDATION_FAILED / INTERNAL for dead letters. */
  code?: string;
  message?: string;
  /** For acceptances: what the HTTP API would answer (the same for a repeat as for the first run). */
  result?: unknown;
  /** A ledger position at or after the command's events; reads may wait for it with `minPosition`. */
  position?: number | null;
}

export type DeadLetterReason = 'not valid JSON' | 'not a JSON object' | 'validation failed' | 'internal error';

/** The value of a message on `inventory.commands.dlq.v1` (JSON, key: the original key). */
export interface DeadLetterMessage {
  reason: DeadLetterReason;
  /** For `validation failed`: each field and what is wrong with it. */
  fields?: { field: string; problems: string[] }[];
  /** The original value's bytes, base64. */
  original: string;
  topic: string;
  partition: number;
  offset: string;
}
