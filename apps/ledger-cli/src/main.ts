import 'reflect-metadata';
import { EXIT, main } from './cli';

// `ledger export | head` closes stdout early: that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.OK);
  throw error;
});

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ledger: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = EXIT.UNREADABLE;
  },
);
