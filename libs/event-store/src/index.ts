export * from './errors';
export * from './esdb/esdb-event-store';
export * from './event-id';
export * from './event-store.port';
export * from './sqlite/sqlite-event-store';
export * from './create-event-store';
