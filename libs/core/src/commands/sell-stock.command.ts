import type { CommandContext } from '../command-context';

export interface SellStockInput {
  saleId: string;
  channel: string;
  quantity: number;
}

export class SellStockCommand {
  constructor(readonly sku: string, readonly input: SellStockInput, readonly context: CommandContext) {}
}
