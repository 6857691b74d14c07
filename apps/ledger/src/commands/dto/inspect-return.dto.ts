import { IsQuantity } from '../validators';

/** Restocked units are sellable at once; written-off units are recorded and never sold. */
export class InspectReturnDto {
  @IsQuantity(0) restockQuantity!: number;
  @IsQuantity(0) writeOffQuantity!: number;
}
