import { dailyAttendance, listPunches } from '../lib/crm/attendance.ts';
import { localDate } from '../lib/crm/time-zone.ts';
import { AttendanceQuerySchema, DailyAttendanceSchema, DailyQuerySchema, PunchPageSchema } from '../schema/api/crm.ts';
import { createFunction } from './base.ts';
import { errorResponses, json, route } from './route.ts';

const tags = ['crm'];

const listRoute = route('attendance:read', {
  method: 'get',
  path: '/api/attendance',
  tags,
  summary: 'Punches, newest first',
  description: 'Days are calendar days in ATTENDANCE_TIMEZONE; punchedAt is UTC.',
  request: { query: AttendanceQuerySchema },
  responses: { 200: json(PunchPageSchema, 'A page of punches'), ...errorResponses(400, 401, 403) },
});

const dailyRoute = route('attendance:read', {
  method: 'get',
  path: '/api/attendance/daily',
  tags,
  summary: 'Per employee for one day: first in, last out, hours, missing punches',
  description: 'The day is a calendar day in ATTENDANCE_TIMEZONE (23 or 25 hours on DST days); default today.',
  request: { query: DailyQuerySchema },
  responses: { 200: json(DailyAttendanceSchema, 'The day'), ...errorResponses(400, 401, 403) },
});

export const attendance = createFunction()
  .openapi(listRoute, async (c) => {
    const { db, config } = c.get('services');
    const query = c.req.valid('query');
    return c.json(await listPunches(db, { ...query, timeZone: config.crm.attendance.timeZone }), 200);
  })
  .openapi(dailyRoute, async (c) => {
    const { db, config } = c.get('services');
    const timeZone = config.crm.attendance.timeZone;
    const date = c.req.valid('query').date ?? localDate(new Date(), timeZone);
    return c.json({ date, timeZone, employees: await dailyAttendance(db, date, timeZone) }, 200);
  });
