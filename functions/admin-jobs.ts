import { z } from '@hono/zod-openapi';
import { findJob, JOBS } from '../lib/jobs/registry.ts';
import { listCronLogs } from '../lib/jobs/repository.ts';
import { runJob } from '../lib/jobs/runner.ts';
import { jobStatuses } from '../lib/jobs/status.ts';
import {
  CronLogQuerySchema,
  JobNameParamSchema,
  JobRunPageSchema,
  JobRunSchema,
  JobStatusSchema,
} from '../schema/api/jobs.ts';
import { createFunction } from './base.ts';
import { ApiError } from './errors.ts';
import { runnerDeps, runResponse } from './jobs-http.ts';
import { errorResponses, json, route } from './route.ts';

const tags = ['admin: jobs'];

const cronLogsRoute = route('admin:access', {
  method: 'get',
  path: '/api/admin/system/cron-logs',
  tags,
  summary: 'Job run history, newest first',
  request: { query: CronLogQuerySchema },
  responses: { 200: json(JobRunPageSchema, 'A page of runs'), ...errorResponses(400, 401, 403) },
});

const jobsRoute = route('admin:access', {
  method: 'get',
  path: '/api/admin/system/jobs',
  tags,
  summary: 'Every job: schedule, last run, last success, next expected run, late',
  responses: {
    200: json(z.object({ jobs: z.array(JobStatusSchema) }), 'The jobs'),
    ...errorResponses(401, 403),
  },
});

const runRoute = route('jobs:run', {
  method: 'post',
  path: '/api/admin/system/jobs/{job}/run',
  tags,
  summary: 'Run a job now (manual trigger)',
  request: { params: JobNameParamSchema },
  responses: {
    200: json(JobRunSchema, 'The job ran and succeeded'),
    ...errorResponses(400, 401, 403, 404, 409),
    500: json(JobRunSchema, 'The job ran and failed (envelope JOB_FAILED, the run in details)'),
  },
});

export const adminJobs = createFunction()
  .openapi(cronLogsRoute, async (c) => c.json(await listCronLogs(c.get('services').db, c.req.valid('query')), 200))
  .openapi(jobsRoute, async (c) => c.json({ jobs: await jobStatuses(c.get('services').db, JOBS) }, 200))
  .openapi(runRoute, async (c) => {
    const name = c.req.valid('param').job;
    const job = findJob(name);
    if (!job) throw new ApiError(404, 'NOT_FOUND', `unknown job ${name}`);
    return runResponse(c, await runJob(runnerDeps(c.get('services')), job, { kind: 'manual' }));
  });
