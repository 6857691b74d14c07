import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  CommitReservationCommand,
  ReleaseReservationCommand,
  ReserveStockCommand,
  type CommandContext,
  type CommandOutcome,
} from '@ledger/core';
import { Roles, STOCK_COMMAND_ROLES } from '../auth/roles.decorator';
import { commandResponse } from '../command-response';
import { ReleaseReservationDto, ReserveStockDto } from '../../commands/dto';
import { ReservationIdParam, SkuParam } from '../id.pipe';
import { NoBodyPipe } from '../no-body.pipe';
import { Ctx } from '../request-context';

@ApiTags('reservations')
@ApiBearerAuth()
@Controller('v1/skus/:sku/reservations')
@Roles(...STOCK_COMMAND_ROLES)
export class ReservationsController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Holds stock for a channel; 409 INSUFFICIENT_STOCK with what is available when the channel cannot cover it. */
  @Post()
  @HttpCode(201)
  async reserve(@Param('sku', SkuParam) sku: string, @Body() body: ReserveStockDto, @Ctx() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const outcome: CommandOutcome = await this.commandBus.execute(new ReserveStockCommand(sku, body, context));
    return commandResponse(response, outcome);
  }

  /** The sale: on hand and reserved both fall. */
  @Post(':reservationId/commit')
  @HttpCode(200)
  async commit(
    @Param('sku', SkuParam) sku: string,
    @Param('reservationId', ReservationIdParam) reservationId: string,
    @Body(NoBodyPipe) _body: Record<string, never>,
    @Ctx() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const outcome: CommandOutcome = await this.commandBus.execute(new CommitReservationCommand(sku, { reservationId }, context));
    return commandResponse(response, outcome);
  }

  @Post(':reservationId/release')
  @HttpCode(200)
  async release(
    @Param('sku', SkuParam) sku: string,
    @Param('reservationId', ReservationIdParam) reservationId: string,
    @Body() body: ReleaseReservationDto,
    @Ctx() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const outcome: CommandOutcome = await this.commandBus.execute(new ReleaseReservationCommand(sku, { reservationId, reason: body.reason }, context));
    return commandResponse(response, outcome);
  }
}
