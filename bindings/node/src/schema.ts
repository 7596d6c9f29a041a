// Schemas: Zod 4 (or any Standard JSON Schema) or plain JSON Schema, turned
// ONCE, at registration, into the JSON Schema 2020-12 the configuration
// document carries. Validation and coercion happen in the core, never here.

/** A JSON Schema document (2020-12) as a plain object. */
export type JSONSchema = { [keyword: string]: unknown } | boolean;

/**
 * A schema library object that can describe itself as JSON Schema: Zod 4
 * (`z.object(...)`), and any library implementing Standard JSON Schema
 * (`~standard.jsonSchema`).
 */
export interface StandardJSONSchemaLike {
  readonly '~standard': {
    readonly vendor: string;
    readonly jsonSchema?: {
      input(options: { target: string }): Record<string, unknown>;
      output(options: { target: string }): Record<string, unknown>;
    };
  };
}

/** What a route accepts wherever it takes a schema. */
export type SchemaInput = StandardJSONSchemaLike | JSONSchema;

const TARGET = { target: 'draft-2020-12' };

function isStandard(s: unknown): s is StandardJSONSchemaLike {
  return typeof s === 'object' && s !== null && '~standard' in s;
}

/** Thrown at registration when a schema cannot be expressed for the core. */
export class SchemaError extends Error {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super(`${where}: ${message}`, options);
    this.name = 'SchemaError';
  }
}

/**
 * The JSON Schema of `s` as the core validates it: a schema library's input
 * form (a Zod object accepts unknown members unless it is strict, as its
 * parse does), after checking that its output is representable too (the
 * handler's types are the schema's output, and the core cannot run
 * transforms).
 */
export function toJSONSchema(s: SchemaInput, where: string): JSONSchema {
  if (isStandard(s)) {
    const std = s['~standard'];
    const conv = std.jsonSchema;
    let out: Record<string, unknown>;
    try {
      if (conv) {
        out = conv.input(TARGET);
        conv.output(TARGET);
      } else if (typeof (s as { toJSONSchema?: unknown }).toJSONSchema === 'function') {
        out = (s as unknown as { toJSONSchema(o: object): Record<string, unknown> }).toJSONSchema({ ...TARGET, io: 'input' });
      } else {
        throw new Error(`the ${std.vendor} schema cannot describe itself as JSON Schema (no ~standard.jsonSchema)`);
      }
    } catch (e) {
      throw new SchemaError(
        where,
        `${(e as Error).message}. Spikard validates requests in its core with JSON Schema, so a schema must be ` +
          'representable as JSON Schema (no transforms, refinements or custom types); express the ' +
          'conversion in the handler instead',
        { cause: e },
      );
    }
    return strip(out);
  }
  if (typeof s === 'boolean') return s;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) {
    throw new SchemaError(where, 'a schema is a Zod schema or a JSON Schema object');
  }
  return s;
}

function strip(schema: Record<string, unknown>): Record<string, unknown> {
  if ('$schema' in schema) {
    const { $schema: _, ...rest } = schema;
    return rest;
  }
  return schema;
}

/** One parameter group of the configuration document: name -> declaration. */
export type ParamGroup = Record<string, Record<string, unknown>>;

/**
 * A parameter group from a route option: an object schema (Zod object or a
 * JSON Schema with type "object" and "properties") becomes one declaration
 * per property, required when the object requires it. A plain map of
 * declarations ({"id": {"type": "integer"}, "q": {"type": "string",
 * "optional": true}}, the document's own form) is passed through.
 */
export function paramGroup(s: SchemaInput, where: string, isPath: boolean): ParamGroup {
  const schema = toJSONSchema(s, where);
  if (typeof schema !== 'object') throw new SchemaError(where, 'parameters are declared by an object schema');
  const props = schema.properties;
  if (schema.type === 'object' && typeof props === 'object' && props !== null) {
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const defs = schema.$defs;
    const out: ParamGroup = {};
    for (const [name, sub] of Object.entries(props as Record<string, unknown>)) {
      const decl: Record<string, unknown> = typeof sub === 'object' && sub !== null ? { ...(sub as object) } : {};
      if (defs && !('$defs' in decl)) decl.$defs = defs;
      if (!isPath && !required.has(name) && !('default' in decl)) decl.optional = true;
      out[name] = decl;
    }
    return out;
  }
  return schema as ParamGroup;
}
