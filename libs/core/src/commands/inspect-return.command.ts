import type { CommandContext } from '../command-context';

export interface InspectReturnInput {
  returnId: string;
  restockQuantity: number;
  writeOffQuantity: number;
}

export class InspectReturnCommand {
  constructor(readonly sku: string, readonly input: InspectReturnInput, readonly context: CommandContext) {}
}
