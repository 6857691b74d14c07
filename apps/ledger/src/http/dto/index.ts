export * from './read-query.dto';
