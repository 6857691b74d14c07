export * from './channel-directory';
export * from './command-context';
export * from './commands';
export * from './expiry-sweeper';
export * from './handlers';
export * from './ledger-core.module';
export * from './sku-command-runner';
export * from './sku-ledger';
