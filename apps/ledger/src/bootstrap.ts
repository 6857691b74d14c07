import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { LedgerCoreOptions } from '@ledger/core';
import { AppModule } from './app.module';
import { jsonDepthLimit } from './http/json-depth.middleware';
import { jsonOnly } from './http/json-only.middleware';

/** Builds the HTTP app; main.ts and the e2e tests both start it this way. */
export async function createApp(options: LedgerCoreOptions, { logger = true } = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bodyParser: false,
    logger: logger ? levelsFrom(options.config.logLevel) : false,
  });
  app.use(jsonOnly);
  app.useBodyParser('json', { limit: options.config.bodyLimitBytes, strict: true });
  app.use(jsonDepthLimit);
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Inventory ledger')
      .setDescription('Event-sourced stock ledger for multi-channel sellers: commands, reads, audit.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  return app;
}

function levelsFrom(level: string): ('error' | 'warn' | 'log' | 'debug')[] {
  const order = ['error', 'warn', 'log', 'debug'] as const;
  return order.slice(0, order.indexOf(level as (typeof order)[number]) + 1);
}

export const bootstrapLogger = new Logger('Bootstrap');
