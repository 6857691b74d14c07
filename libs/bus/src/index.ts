export * from './bus.port';
export { DEFAULT_HANDLER_RETRY, type HandlerRetryOptions } from './handler-retry';
export * from './in-process-bus';
export * from './kafka/kafka-bus';
export * from './topics';
