import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readiness, type ReadinessCheck, type ReadinessResult } from '@ledger/platform';
import { Public } from '../auth/roles.decorator';

const CHECK_TIMEOUT_MS = 1_000;

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  /** The process answers: restart it only when this fails. */
  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /** Whether to send traffic here: every dependency answered within a second. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) response: FastifyReply) {
    const results = await Promise.all(this.readiness.all().map(async (check) => [check.name, await withTimeout(check)] as const));
    const ready = results.every(([, result]) => result.ready);
    response.status(ready ? 200 : 503);
    if (!ready) response.header('Retry-After', '1');
    return { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
  }
}

async function withTimeout(check: ReadinessCheck): Promise<ReadinessResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadinessResult>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, detail: { error: 'no answer within 1s' } }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check.check().catch((error: Error) => ({ ready: false, detail: { error: error.message } })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
