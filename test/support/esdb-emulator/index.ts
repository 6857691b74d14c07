export { EsdbEmulator, type EsdbEmulatorOptions } from './esdb-emulator';
export type { StoredEvent } from './event-log';
