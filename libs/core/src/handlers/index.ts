import { AdjustStockHandler } from './adjust-stock.handler';
import { CommitReservationHandler } from './commit-reservation.handler';
import { ConfigureChannelHandler } from './configure-channel.handler';
import { ExpireReservationsHandler } from './expire-reservations.handler';
import { InspectReturnHandler } from './inspect-return.handler';
import { ReceiveReturnHandler } from './receive-return.handler';
import { ReceiveStockHandler } from './receive-stock.handler';
import { ReleaseReservationHandler } from './release-reservation.handler';
import { ReserveStockHandler } from './reserve-stock.handler';
import { SellStockHandler } from './sell-stock.handler';

export const CommandHandlers = [
  ReceiveStockHandler,
  AdjustStockHandler,
  ReserveStockHandler,
  CommitReservationHandler,
  ReleaseReservationHandler,
  ExpireReservationsHandler,
  SellStockHandler,
  ReceiveReturnHandler,
  InspectReturnHandler,
  ConfigureChannelHandler,
];
