import type { Goal, ScenarioOptions, ScenarioResult } from '../support/measure';

export const SCENARIOS = ['deep-stock', 'deep-stock-http', 'hot-sku', 'hot-sku-http', 'catalog', 'propagation', 'rebuild'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioModule {
  default(options: ScenarioOptions): Promise<ScenarioResult>;
  /** Goals judged on the (median) result, so a table of several runs is judged as a whole. */
  evaluate(result: ScenarioResult): Goal[];
}

/** Loaded on demand: each scenario process loads only its own. */
export function loadScenario(name: ScenarioName): ScenarioModule {
  switch (name) {
    case 'deep-stock':
      return require('./deep-stock');
    case 'deep-stock-http':
      return require('./deep-stock-http');
    case 'hot-sku':
      return require('./hot-sku');
    case 'hot-sku-http':
      return require('./hot-sku-http');
    case 'catalog':
      return require('./catalog');
    case 'propagation':
      return require('./propagation');
    case 'rebuild':
      return require('./rebuild');
  }
}
