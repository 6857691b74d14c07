/** One jest run holds every level: unit (*.spec.ts), adapters (*.int-spec.ts) and the running app (*.e2e-spec.ts). */
const fs = require('fs');
const swcConfig = JSON.parse(fs.readFileSync(`${__dirname}/.swcrc`, 'utf8'));

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testRegex: '\\.(spec|int-spec|e2e-spec)\\.ts$',
  transform: { '^.+\\.ts$': ['@swc/jest', swcConfig] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@ledger/([a-z-]+)$': '<rootDir>/libs/$1/src',
    '^@ledger/([a-z-]+)/testing/(.+)$': '<rootDir>/libs/$1/src/testing/$2',
    '^@app/([a-z-]+)/(.+)$': '<rootDir>/apps/$1/src/$2',
    '^@test/(.+)$': '<rootDir>/test/support/$1',
  },
  testTimeout: 30000,
  maxWorkers: 2,
};
