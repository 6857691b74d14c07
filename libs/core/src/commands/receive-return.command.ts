import type { CommandContext } from '../command-context';

export interface ReceiveReturnInput {
  returnId: string;
  location: string;
  quantity: number;
  orderRef?: string | null;
  channel?: string | null;
}

export class ReceiveReturnCommand {
  constructor(readonly sku: string, readonly input: ReceiveReturnInput, readonly context: CommandContext) {}
}
