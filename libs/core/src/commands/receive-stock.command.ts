import type { CommandContext } from '../command-context';

export interface ReceiveStockInput {
  receiptId: string;
  location: string;
  quantity: number;
  reference?: string | null;
}

export class ReceiveStockCommand {
  constructor(readonly sku: string, readonly input: ReceiveStockInput, readonly context: CommandContext) {}
}
