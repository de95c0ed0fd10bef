import {
  findLeadFor,
  isAssignableUser,
  listLeads,
  seesEveryLead,
  toPublicLead,
  updateLeadFor,
} from '../lib/crm/leads.ts';
import { LeadIdParamSchema, LeadPageSchema, LeadQuerySchema, LeadSchema, UpdateLeadSchema } from '../schema/api/crm.ts';
import { createFunction } from './base.ts';
import type { AuthContext } from './context.ts';
import { ApiError } from './errors.ts';
import { errorResponses, json, jsonBody, route } from './route.ts';

const tags = ['crm'];

const listRoute = route('leads:read', {
  method: 'get',
  path: '/api/leads',
  tags,
  summary: 'Leads, most recently changed first',
  description: 'Agents get only the leads assigned to them; managers and admins get all.',
  request: { query: LeadQuerySchema },
  responses: { 200: json(LeadPageSchema, 'A page of leads'), ...errorResponses(400, 401, 403) },
});

const getRoute = route('leads:read', {
  method: 'get',
  path: '/api/leads/{id}',
  tags,
  summary: 'One lead',
  description: "Another agent's lead is 404, as if it did not exist.",
  request: { params: LeadIdParamSchema },
  responses: { 200: json(LeadSchema, 'The lead'), ...errorResponses(400, 401, 403, 404) },
});

const updateRoute = route('leads:write', {
  method: 'patch',
  path: '/api/leads/{id}',
  tags,
  summary: 'Change status, assignee or notes',
  description:
    "Agents change their own leads' status and notes (another agent's lead is 404) and may not reassign (403). A later sync keeps these values unless the source row changes after the edit.",
  request: { params: LeadIdParamSchema, ...jsonBody(UpdateLeadSchema) },
  responses: { 200: json(LeadSchema, 'Updated'), ...errorResponses(400, 401, 403, 404) },
});

const viewer = (auth: AuthContext | undefined) => {
  if (!auth) throw new ApiError(401, 'UNAUTHORIZED', 'authentication required');
  return { userId: auth.userId, role: auth.role };
};

export const leads = createFunction()
  .openapi(listRoute, async (c) => {
    const { status, assigned_to, q, updated_since, limit, cursor } = c.req.valid('query');
    const page = await listLeads(c.get('services').db, viewer(c.get('auth')), {
      status,
      assignedTo: assigned_to,
      q,
      updatedSince: updated_since,
      limit,
      cursor,
    });
    return c.json(page, 200);
  })
  .openapi(getRoute, async (c) => {
    const lead = await findLeadFor(c.get('services').db, viewer(c.get('auth')), c.req.valid('param').id);
    if (!lead) throw new ApiError(404, 'NOT_FOUND', 'lead not found');
    return c.json(toPublicLead(lead), 200);
  })
  .openapi(updateRoute, async (c) => {
    const { db } = c.get('services');
    const who = viewer(c.get('auth'));
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    if (!(await findLeadFor(db, who, id))) throw new ApiError(404, 'NOT_FOUND', 'lead not found');
    if (patch.assignedTo !== undefined) {
      if (!seesEveryLead(who.role)) throw new ApiError(403, 'FORBIDDEN', 'agents may not reassign leads');
      if (patch.assignedTo !== null && !(await isAssignableUser(db, patch.assignedTo))) {
        throw new ApiError(400, 'VALIDATION_FAILED', 'assignedTo is not an active user who can hold leads', [
          { path: ['assignedTo'], message: 'no active md, admin, manager or agent has this id' },
        ]);
      }
    }
    return c.json(toPublicLead(await updateLeadFor(db, who, id, patch)), 200);
  });
