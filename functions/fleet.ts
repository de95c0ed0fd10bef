import { createLocation, createProduct, listLocations, listProducts } from '../lib/vending/dictionaries.ts';
import { createMachine, findMachine, listMachines, updateMachine } from '../lib/vending/machines.ts';
import { PageQuerySchema } from '../schema/api/common.ts';
import {
  CreateLocationSchema,
  CreateMachineSchema,
  CreateProductSchema,
  IdParamSchema,
  LocationPageSchema,
  LocationSchema,
  MachinePageSchema,
  MachineQuerySchema,
  MachineSchema,
  ProductPageSchema,
  ProductQuerySchema,
  ProductSchema,
  UpdateMachineSchema,
} from '../schema/api/vending.ts';
import { createFunction } from './base.ts';
import { ApiError } from './errors.ts';
import { errorResponses, json, jsonBody, route } from './route.ts';

// The vending fleet: machines, their locations and the product catalog (nomenclature).

const listMachinesRoute = route('machines:read', {
  method: 'get',
  path: '/api/machines',
  tags: ['vending: machines'],
  summary: 'Machines by code, with filters',
  request: { query: MachineQuerySchema },
  responses: { 200: json(MachinePageSchema, 'A page of machines'), ...errorResponses(400, 401, 403) },
});

const getMachineRoute = route('machines:read', {
  method: 'get',
  path: '/api/machines/{id}',
  tags: ['vending: machines'],
  summary: 'One machine',
  request: { params: IdParamSchema },
  responses: { 200: json(MachineSchema, 'The machine'), ...errorResponses(400, 401, 403, 404) },
});

const createMachineRoute = route('machines:write', {
  method: 'post',
  path: '/api/machines',
  tags: ['vending: machines'],
  summary: 'Add a machine',
  request: jsonBody(CreateMachineSchema),
  responses: { 201: json(MachineSchema, 'Created'), ...errorResponses(400, 401, 403, 404, 409) },
});

const updateMachineRoute = route('machines:write', {
  method: 'patch',
  path: '/api/machines/{id}',
  tags: ['vending: machines'],
  summary: 'Change name, location, status or last service time',
  request: { params: IdParamSchema, ...jsonBody(UpdateMachineSchema) },
  responses: { 200: json(MachineSchema, 'Updated'), ...errorResponses(400, 401, 403, 404) },
});

const listLocationsRoute = route('locations:read', {
  method: 'get',
  path: '/api/locations',
  tags: ['vending: dictionaries'],
  summary: 'Locations by code',
  request: { query: PageQuerySchema },
  responses: { 200: json(LocationPageSchema, 'A page of locations'), ...errorResponses(400, 401, 403) },
});

const createLocationRoute = route('locations:write', {
  method: 'post',
  path: '/api/locations',
  tags: ['vending: dictionaries'],
  summary: 'Add a location',
  request: jsonBody(CreateLocationSchema),
  responses: { 201: json(LocationSchema, 'Created'), ...errorResponses(400, 401, 403, 409) },
});

const listProductsRoute = route('products:read', {
  method: 'get',
  path: '/api/products',
  tags: ['vending: dictionaries'],
  summary: 'The product catalog (nomenclature) by SKU',
  request: { query: ProductQuerySchema },
  responses: { 200: json(ProductPageSchema, 'A page of products'), ...errorResponses(400, 401, 403) },
});

const createProductRoute = route('products:write', {
  method: 'post',
  path: '/api/products',
  tags: ['vending: dictionaries'],
  summary: 'Add a product to the catalog',
  request: jsonBody(CreateProductSchema),
  responses: { 201: json(ProductSchema, 'Created'), ...errorResponses(400, 401, 403, 409) },
});

export const fleet = createFunction()
  .openapi(listMachinesRoute, async (c) => c.json(await listMachines(c.get('services').db, c.req.valid('query')), 200))
  .openapi(getMachineRoute, async (c) => {
    const machine = await findMachine(c.get('services').db, c.req.valid('param').id);
    if (!machine) throw new ApiError(404, 'NOT_FOUND', 'machine not found');
    return c.json(machine, 200);
  })
  .openapi(createMachineRoute, async (c) => c.json(await createMachine(c.get('services').db, c.req.valid('json')), 201))
  .openapi(updateMachineRoute, async (c) =>
    c.json(await updateMachine(c.get('services').db, c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(listLocationsRoute, async (c) =>
    c.json(await listLocations(c.get('services').db, c.req.valid('query')), 200),
  )
  .openapi(createLocationRoute, async (c) =>
    c.json(await createLocation(c.get('services').db, c.req.valid('json')), 201),
  )
  .openapi(listProductsRoute, async (c) => c.json(await listProducts(c.get('services').db, c.req.valid('query')), 200))
  .openapi(createProductRoute, async (c) =>
    c.json(await createProduct(c.get('services').db, c.req.valid('json')), 201),
  );
