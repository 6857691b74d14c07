export * from './adjust-stock.dto';
export * from './configure-channel.dto';
export * from './inspect-return.dto';
export * from './receive-return.dto';
export * from './receive-stock.dto';
export * from './release-reservation.dto';
export * from './reserve-stock.dto';
export * from './sell-stock.dto';
