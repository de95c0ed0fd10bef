import {
  assignTask,
  cancelTask,
  completeTask,
  createReservation,
  createTask,
  findTask,
  listReservations,
  listTasks,
  releaseReservation,
} from '../lib/vending/tasks.ts';
import { listTaskUploads } from '../lib/vending/uploads.ts';
import {
  AssignTaskSchema,
  CreateReservationSchema,
  CreateTaskSchema,
  IdParamSchema,
  ReservationSchema,
  TaskDetailSchema,
  TaskPageSchema,
  TaskQuerySchema,
  TaskSchema,
  TaskTransitionSchema,
} from '../schema/api/vending.ts';
import { actorOf } from './actor.ts';
import { createFunction } from './base.ts';
import { ApiError } from './errors.ts';
import { errorResponses, json, jsonBody, route } from './route.ts';

// Tasks for machines (refill, collection, maintenance) and the stock they reserve. Operators see
// and complete only their own tasks: anyone else's is 404, as if it did not exist.

const tags = ['vending: tasks'];

const listRoute = route('tasks:read', {
  method: 'get',
  path: '/api/tasks',
  tags,
  summary: 'Tasks, soonest due first (operators: their own)',
  request: { query: TaskQuerySchema },
  responses: { 200: json(TaskPageSchema, 'A page of tasks'), ...errorResponses(400, 401, 403) },
});

const getRoute = route('tasks:read', {
  method: 'get',
  path: '/api/tasks/{id}',
  tags,
  summary: 'One task with its reservations and uploads (operators: their own, else 404)',
  request: { params: IdParamSchema },
  responses: { 200: json(TaskDetailSchema, 'The task'), ...errorResponses(400, 401, 403, 404) },
});

const createRoute = route('tasks:write', {
  method: 'post',
  path: '/api/tasks',
  tags,
  summary: 'Create a task for a machine (assigned when assignedTo names an operator)',
  request: jsonBody(CreateTaskSchema),
  responses: { 201: json(TaskSchema, 'Created'), ...errorResponses(400, 401, 403, 404) },
});

const assignRoute = route('tasks:write', {
  method: 'post',
  path: '/api/tasks/{id}/assign',
  tags,
  summary: 'Assign an open task to an operator',
  request: { params: IdParamSchema, ...jsonBody(AssignTaskSchema) },
  responses: { 200: json(TaskSchema, 'Assigned'), ...errorResponses(400, 401, 403, 404, 409) },
});

const completeRoute = route('tasks:complete', {
  method: 'post',
  path: '/api/tasks/{id}/complete',
  tags,
  summary: 'Complete an open task; its active reservations are released in the same transaction',
  request: { params: IdParamSchema },
  responses: { 200: json(TaskTransitionSchema, 'Completed'), ...errorResponses(400, 401, 403, 404, 409) },
});

const cancelRoute = route('tasks:write', {
  method: 'post',
  path: '/api/tasks/{id}/cancel',
  tags,
  summary: 'Cancel an open task; its active reservations are released in the same transaction',
  request: { params: IdParamSchema },
  responses: { 200: json(TaskTransitionSchema, 'Cancelled'), ...errorResponses(400, 401, 403, 404, 409) },
});

const reserveRoute = route('reservations:write', {
  method: 'post',
  path: '/api/tasks/{id}/reservations',
  tags,
  summary: 'Reserve stock of a product for an open task',
  request: { params: IdParamSchema, ...jsonBody(CreateReservationSchema) },
  responses: { 201: json(ReservationSchema, 'Reserved'), ...errorResponses(400, 401, 403, 404, 409) },
});

const releaseRoute = route('reservations:write', {
  method: 'post',
  path: '/api/reservations/{id}/release',
  tags,
  summary: 'Release an active reservation',
  request: { params: IdParamSchema },
  responses: { 200: json(ReservationSchema, 'Released'), ...errorResponses(400, 401, 403, 404, 409) },
});

export const tasks = createFunction()
  .openapi(listRoute, async (c) => c.json(await listTasks(c.get('services').db, actorOf(c), c.req.valid('query')), 200))
  .openapi(getRoute, async (c) => {
    const { db } = c.get('services');
    const task = await findTask(db, actorOf(c), c.req.valid('param').id);
    if (!task) throw new ApiError(404, 'NOT_FOUND', 'task not found');
    const [reservations, uploads] = await Promise.all([listReservations(db, task.id), listTaskUploads(db, task.id)]);
    return c.json({ ...task, reservations, uploads }, 200);
  })
  .openapi(createRoute, async (c) =>
    c.json(await createTask(c.get('services').db, actorOf(c), c.req.valid('json')), 201),
  )
  .openapi(assignRoute, async (c) =>
    c.json(
      await assignTask(c.get('services').db, actorOf(c), c.req.valid('param').id, c.req.valid('json').operatorId),
      200,
    ),
  )
  .openapi(completeRoute, async (c) =>
    c.json(await completeTask(c.get('services').db, actorOf(c), c.req.valid('param').id), 200),
  )
  .openapi(cancelRoute, async (c) =>
    c.json(await cancelTask(c.get('services').db, actorOf(c), c.req.valid('param').id), 200),
  )
  .openapi(reserveRoute, async (c) => {
    const { db, config } = c.get('services');
    const reservation = await createReservation(
      db,
      actorOf(c),
      c.req.valid('param').id,
      c.req.valid('json'),
      config.vending.reservationTtlSeconds,
    );
    return c.json(reservation, 201);
  })
  .openapi(releaseRoute, async (c) =>
    c.json(await releaseReservation(c.get('services').db, c.req.valid('param').id), 200),
  );
