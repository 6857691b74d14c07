import { Body, Controller, Get, Param, Put, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ChannelDirectory, ConfigureChannelCommand, type ChannelView, type CommandContext } from '@ledger/core';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { ConfigureChannelDto } from '../../commands/dto';
import { ChannelParam } from '../id.pipe';
import { Ctx } from '../request-context';

@ApiTags('channels')
@ApiBearerAuth()
@Controller('v1/channels')
export class ChannelsController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly channels: ChannelDirectory,
  ) {}

  /** Which locations serve a channel, in order; setting the same list again changes nothing. */
  @Put(':channel')
  @Roles('ops')
  async configure(
    @Param('channel', ChannelParam) channel: string,
    @Body() body: ConfigureChannelDto,
    @Ctx() context: CommandContext,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const { view, position }: { view: ChannelView; position: number | null } = await this.commandBus.execute(
      new ConfigureChannelCommand(channel, body.locations, context),
    );
    if (position !== null) response.header('X-Ledger-Position', String(position));
    return { ...view, position };
  }

  @Get()
  @Roles(...READ_ROLES)
  async list() {
    return { channels: await this.channels.list() };
  }
}
