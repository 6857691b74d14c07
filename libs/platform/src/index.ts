export * from './clock';
export * from './config';
export * from './metrics.service';
export * from './readiness';
