import { topicNames } from './topics';

describe('topicNames', () => {
  it('given no prefix, returns the contract names', () => {
    expect(topicNames()).toEqual({
      ledger: 'inventory.ledger.v1',
      availability: 'inventory.availability.v1',
      commands: 'inventory.commands.v1',
      commandResults: 'inventory.command-results.v1',
      commandsDlq: 'inventory.commands.dlq.v1',
    });
  });

  it('given a prefix, puts it verbatim before every name', () => {
    const names = topicNames('staging.');
    expect(names.ledger).toBe('staging.inventory.ledger.v1');
    expect(Object.values(names).every((name) => name.startsWith('staging.inventory.'))).toBe(true);
  });

  it('refuses a prefix Kafka would not accept in a topic name', () => {
    expect(() => topicNames('my env/')).toThrow('may hold only');
  });
});
