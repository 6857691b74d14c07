export * from './envelope';
export * from './event-codec';
export * from './event-ids';
export * from './hash-chain';
