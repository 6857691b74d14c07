import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { LedgerCoreOptions } from '@ledger/core';
import { AppModule } from './app.module';
import { registerJsonBody } from './http/json-body';

/** Longer than any id the API takes (200), so an over-long path id is the id rule's 400, not the router's. */
const MAX_PATH_PARAM_LENGTH = 16 * 1024;

/** Builds the HTTP app (Nest on Fastify); main.ts and the e2e tests both start it this way. */
export async function createApp(options: LedgerCoreOptions, { logger = true } = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: options.config.bodyLimitBytes,
    // No Nest middleware: the body checks are Fastify content-type parsers (http/json-body.ts).
    skipMiddie: true,
    // Routing as Express did it: case-insensitive, a trailing slash matches.
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: MAX_PATH_PARAM_LENGTH },
    frameworkErrors: answerRoutingError,
    clientErrorHandler: answerUnparsableRequest,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    bodyParser: false,
    logger: logger ? levelsFrom(options.config.logLevel) : false,
  });
  registerJsonBody(app.getHttpAdapter().getInstance(), options.config.bodyLimitBytes);
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

/** The router's refusals (a path that does not decode) come before Nest: answered in the API's error shape. */
function answerRoutingError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const message = error.code === 'FST_ERR_BAD_URL' ? 'the path does not decode (a broken %-escape)' : error.message;
  void reply.code(400).send({ code: 'VALIDATION_FAILED', message, details: { fields: [{ field: 'path', problems: [message] }] } });
}

/**
 * What node's HTTP server does by itself when a request does not parse (Fastify's own handler adds a
 * body without our error shape, and writes even into an answer already under way): a bare 400, 408
 * or 431, only when no answer has started on that connection, then the connection is closed.
 */
function answerUnparsableRequest(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy(error);
}

function levelsFrom(level: string): ('error' | 'warn' | 'log' | 'debug')[] {
  const order = ['error', 'warn', 'log', 'debug'] as const;
  return order.slice(0, order.indexOf(level as (typeof order)[number]) + 1);
}

export const bootstrapLogger = new Logger('Bootstrap');
