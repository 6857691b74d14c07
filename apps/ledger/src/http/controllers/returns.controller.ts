import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { InspectReturnCommand, ReceiveReturnCommand, type CommandContext, type CommandOutcome } from '@ledger/core';
import { Roles, STOCK_COMMAND_ROLES } from '../auth/roles.decorator';
import { commandResponse } from '../command-response';
import { InspectReturnDto, ReceiveReturnDto } from '../../commands/dto';
import { ReturnIdParam, SkuParam } from '../id.pipe';
import { Ctx } from '../request-context';

@ApiTags('returns')
@ApiBearerAuth()
@Controller('v1/skus/:sku/returns')
@Roles(...STOCK_COMMAND_ROLES)
export class ReturnsController {
  constructor(private readonly commandBus: CommandBus) {}

  @Post()
  @HttpCode(201)
  async receive(@Param('sku', SkuParam) sku: string, @Body() body: ReceiveReturnDto, @Ctx() context: CommandContext, @Res({ passthrough: true }) response: FastifyReply) {
    const outcome: CommandOutcome = await this.commandBus.execute(new ReceiveReturnCommand(sku, body, context));
    return commandResponse(response, outcome);
  }

  @Post(':returnId/inspection')
  @HttpCode(200)
  async inspect(
    @Param('sku', SkuParam) sku: string,
    @Param('returnId', ReturnIdParam) returnId: string,
    @Body() body: InspectReturnDto,
    @Ctx() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const outcome: CommandOutcome = await this.commandBus.execute(new InspectReturnCommand(sku, { returnId, ...body }, context));
    return commandResponse(response, outcome);
  }
}
