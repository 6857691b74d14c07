import { ArrayMaxSize, ArrayUnique, IsArray } from 'class-validator';
import { IsLedgerId } from '../validators';

export class ConfigureChannelDto {
  /** Locations in the order the channel draws from them; empty means every location. */
  @IsArray() @ArrayMaxSize(200) @ArrayUnique() @IsLedgerId({ each: true }) locations!: string[];
}
