export * from './amazon-fake';
export * from './fake-ledger';
export * from './fake-server';
export * from './flipkart-fake';
export * from './shopify-fake';
