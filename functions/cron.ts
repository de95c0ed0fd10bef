import { findJob, JOB_NAME, JOBS } from '../lib/jobs/registry.ts';
import { runJob } from '../lib/jobs/runner.ts';
import { JobNameParamSchema, JobRunSchema } from '../schema/api/jobs.ts';
import { createFunction } from './base.ts';
import { ApiError } from './errors.ts';
import { runnerDeps, runResponse } from './jobs-http.ts';
import { errorResponses, json, route } from './route.ts';

const triggerRoute = route('cron', {
  method: 'post',
  path: '/api/cron/{job}',
  tags: ['jobs'],
  summary: 'Run a job now (system cron, uptime tools)',
  description: `Authorization: Bearer <CRON_SECRET>. Answers with the run: 200 success, 500 JOB_FAILED, 409 when another run holds the job's lease, 404 for an unknown job, 503 when CRON_SECRET is unset. Jobs: ${JOBS.map((j) => [j.name, ...(j.aliases ?? [])].join(' / ')).join(', ')}.`,
  request: { params: JobNameParamSchema },
  responses: {
    200: json(JobRunSchema, 'The job ran and succeeded'),
    ...errorResponses(400, 401, 404, 409, 503),
    500: json(JobRunSchema, 'The job ran and failed (envelope JOB_FAILED, the run in details)'),
  },
});

export const cron = createFunction().openapi(triggerRoute, async (c) => {
  const name = c.req.valid('param').job;
  const job = JOB_NAME.test(name) ? findJob(name) : undefined;
  if (!job) throw new ApiError(404, 'NOT_FOUND', `unknown job ${name}`);
  return runResponse(c, await runJob(runnerDeps(c.get('services')), job, { kind: 'http' }));
});
