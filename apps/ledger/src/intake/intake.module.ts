import { Module } from '@nestjs/common';
import { CommandIntake } from './command-intake';

/** Commands from the bus (`inventory.commands.v1`), answered on `inventory.command-results.v1`. */
@Module({
  providers: [CommandIntake],
  exports: [CommandIntake],
})
export class IntakeModule {}
