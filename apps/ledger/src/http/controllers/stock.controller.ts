import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdjustStockCommand, ReceiveStockCommand, SellStockCommand, type CommandContext, type CommandOutcome } from '@ledger/core';
import { Roles, STOCK_COMMAND_ROLES } from '../auth/roles.decorator';
import { commandResponse } from '../command-response';
import { AdjustStockDto, ReceiveStockDto, SellStockDto } from '../../commands/dto';
import { SkuParam } from '../id.pipe';
import { Ctx } from '../request-context';

@ApiTags('stock')
@ApiBearerAuth()
@Controller('v1/skus/:sku')
@Roles(...STOCK_COMMAND_ROLES)
export class StockController {
  constructor(private readonly commandBus: CommandBus) {}

  @Post('receipts')
  @HttpCode(201)
  async receive(@Param('sku', SkuParam) sku: string, @Body() body: ReceiveStockDto, @Ctx() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const outcome: CommandOutcome = await this.commandBus.execute(new ReceiveStockCommand(sku, body, context));
    return commandResponse(response, outcome);
  }

  @Post('adjustments')
  @HttpCode(201)
  async adjust(@Param('sku', SkuParam) sku: string, @Body() body: AdjustStockDto, @Ctx() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const outcome: CommandOutcome = await this.commandBus.execute(new AdjustStockCommand(sku, body, context));
    return commandResponse(response, outcome);
  }

  @Post('sales')
  @HttpCode(201)
  async sell(@Param('sku', SkuParam) sku: string, @Body() body: SellStockDto, @Ctx() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const outcome: CommandOutcome = await this.commandBus.execute(new SellStockCommand(sku, body, context));
    return commandResponse(response, outcome);
  }
}
