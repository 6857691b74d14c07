import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ProjectionManager } from '@ledger/projections';
import { Roles } from '../auth/roles.decorator';
import { ApiError } from '../../errors/api-error';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/projections')
export class ProjectionsAdminController {
  constructor(private readonly projections: ProjectionManager) {}

  /** Each projection's checkpoint, lag (events and ms) and state. */
  @Get()
  @Roles('ops', 'auditor')
  async list() {
    return { projections: await this.projections.status() };
  }

  /** Rebuilds one projection from the first event while the live one serves, then swaps it in. */
  @Post(':name/rebuild')
  @Roles('ops')
  @HttpCode(202)
  rebuild(@Param('name') name: string) {
    if (!this.projections.isProjection(name)) throw new ApiError(404, 'PROJECTION_NOT_FOUND', `no projection called ${name.slice(0, 100)}`);
    const { started } = this.projections.rebuild(name);
    return { projection: name, status: started ? 'rebuilding' : 'already_rebuilding' };
  }
}
