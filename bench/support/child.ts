import { loadScenario, type ScenarioName } from '../scenarios';
import type { ScenarioOptions } from './measure';

/** One scenario in its own process: runs it and hands the result to the parent over IPC. */
async function main(): Promise<void> {
  const [name, raw] = process.argv.slice(2);
  const options = JSON.parse(raw) as ScenarioOptions;
  const scenario = loadScenario(name as ScenarioName);
  const result = await scenario.default(options);
  await new Promise<void>((resolve, reject) => process.send?.({ result }, (error: Error | null) => (error ? reject(error) : resolve())));
  // Whatever the scenario left open (keep-alive sockets, timers) must not keep the process alive.
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
