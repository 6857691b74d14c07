export * from './availability-relay';
export * from './ledger-relay';
export * from './messages';
export * from './messaging';
export * from './messaging.module';
export * from './relay-checkpoints';
export * from './relay-metrics';
export * from './relay-status';
