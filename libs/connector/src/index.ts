export * from './availability-consumer';
export * from './availability-store';
export * from './channel-adapter';
export * from './http-marketplace-adapter';
export * from './revision-rule';
export * from './token-bucket';
