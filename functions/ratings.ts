import { previousDay } from '../lib/vending/jobs.ts';
import { listRatings } from '../lib/vending/ratings.ts';
import { RatingPageSchema, RatingQuerySchema } from '../schema/api/vending.ts';
import { actorOf } from './actor.ts';
import { createFunction } from './base.ts';
import { errorResponses, json, route } from './route.ts';

const listRoute = route('ratings:read', {
  method: 'get',
  path: '/api/ratings',
  tags: ['vending: ratings'],
  summary: "Operators' scores for a day, best first (operators: their own)",
  description: 'Written daily by the operator_ratings job for the previous day (UTC); the formula is in the README.',
  request: { query: RatingQuerySchema },
  responses: { 200: json(RatingPageSchema, 'A page of ratings'), ...errorResponses(400, 401, 403) },
});

export const ratings = createFunction().openapi(listRoute, async (c) => {
  const { period, limit, cursor } = c.req.valid('query');
  return c.json(
    await listRatings(c.get('services').db, actorOf(c), { period: period ?? previousDay(), limit, cursor }),
    200,
  );
});
