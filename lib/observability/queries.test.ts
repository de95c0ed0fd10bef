import { describe, expect, it } from 'vitest';
import { pathSearchProbe } from './queries.ts';

describe('pathSearchProbe', () => {
  it('looks up the longest piece holding a digit: the id, not the route words every row shares', () => {
    expect(pathSearchProbe('/api/leads/31337')).toBe('31337');
    expect(pathSearchProbe('/api/tasks/9999/complete')).toBe('9999');
    expect(pathSearchProbe('/api/machines/12/photos/a1b2c3')).toBe('a1b2c3');
    expect(pathSearchProbe('/api/nothing-31337')).toBe('nothing-31337');
  });

  it('looks up the whole needle when no such piece has three characters', () => {
    expect(pathSearchProbe('/api/machines/')).toBe('/api/machines/');
    expect(pathSearchProbe('/api/leads/12')).toBe('/api/leads/12');
    expect(pathSearchProbe('webhook')).toBe('webhook');
  });
});
