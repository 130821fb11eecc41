// A refused create or update of a webhook (and a refused delivery search, the fields of its query
// string, as invalid_query) names every bad field at once, in JWP's `errors` array:
// one entry per field, in the order of the resource's fields, instead of the first one the
// validator met. Fastify checks the body against the route's schema and stops at the first error
// (ajv's allErrors stays off: with it, one large body could make any number of errors); when it
// refuses, each field is checked again on its own against its part of the schema, so that every
// field gets its first error and none more than one. The route's own checks (a URL the SSRF guard
// refuses, a property of another account) add theirs for the fields the schema let through.
import type { FastifyRequest } from 'fastify';
import { describeValidation, FieldErrors, type AjvError } from './errors.js';

/** The parts of a JSON schema this walks: objects with properties; anything else is one field. */
interface Schema {
  type?: unknown;
  properties?: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  additionalProperties?: boolean | object;
  minProperties?: number;
}

const pointer = (field: string) => (field ? '/' + field.replaceAll('.', '/') : '');
const join = (parent: string, name: string) => (parent ? `${parent}.${name}` : name);

/** A field's schema as the property `v` of an object: ajv then coerces the value in place, as on the whole body. */
const wrapped = new WeakMap<object, object>();
function wrap(schema: Schema): object {
  let w = wrapped.get(schema);
  if (!w) wrapped.set(schema, (w = { type: 'object', properties: { v: schema } }));
  return w;
}

export class FieldProblems {
  private readonly found: { field: string; description: string }[] = [];

  /**
   * `order`: the fields in the resource's order, '' (the body itself) first. `context`: what is
   * checked, the body (invalid_body) or the query string (invalid_query, GET /v2/deliveries/).
   */
  constructor(private readonly order: readonly string[], private readonly context: 'body' | 'querystring' = 'body') {}

  /** Refuses `field`, unless it (or an object it sits in) is refused already: one entry per field. */
  add(field: string, description: string): void {
    if (!this.about(field)) this.found.push({ field, description });
  }

  /** Whether `field`, or an object it sits in, is refused: if not, its value passed its schema. */
  about(field: string): boolean {
    return this.found.some((p) => p.field === field || p.field === '' || field.startsWith(p.field + '.'));
  }

  /**
   * Checks each field of the object `value` on its own against its part of `schema` (an object
   * schema; `field`: where `value` sits), coercing what passes as the route's validation would.
   */
  checkSchema(request: FastifyRequest, value: unknown, schema: Schema, field = ''): void {
    const refuse = (e: AjvError, at = field) => this.add(at, describeValidation(this.context, e));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return refuse({ keyword: 'type', instancePath: pointer(field), message: 'must be object', params: {} });
    }
    const object = value as Record<string, unknown>;
    if (schema.minProperties !== undefined && Object.keys(object).length < schema.minProperties) {
      refuse({ keyword: 'minProperties', instancePath: pointer(field), message: `must NOT have fewer than ${schema.minProperties} properties`, params: {} });
    }
    for (const name of schema.required ?? []) {
      if (object[name] === undefined) refuse({ keyword: 'required', instancePath: pointer(field), params: { missingProperty: name } }, join(field, name));
    }
    for (const [name, part] of Object.entries(schema.properties ?? {})) {
      if (object[name] === undefined) continue;
      if (part.properties) this.checkSchema(request, object[name], part, join(field, name));
      else object[name] = this.checkField(request, object[name], part, join(field, name));
    }
    if (schema.additionalProperties === false) {
      for (const name of Object.keys(object)) {
        if (!Object.hasOwn(schema.properties ?? {}, name)) refuse({ keyword: 'additionalProperties', instancePath: pointer(field), params: { additionalProperty: name } }, join(field, name));
      }
    }
  }

  /** One field that is not an object: its first error, if any; returns its value, coerced. */
  private checkField(request: FastifyRequest, value: unknown, schema: Schema, field: string): unknown {
    const holder = { v: value };
    const validate = request.compileValidationSchema(wrap(schema));
    if (!validate(holder)) {
      const e = validate.errors![0] as AjvError;
      this.add(field, describeValidation(this.context, { ...e, instancePath: pointer(field) + e.instancePath.replace(/^\/v/, '') }));
    }
    return holder.v;
  }

  /** Throws the refusal, every field in the resource's order (fields it does not know last), if any was refused. */
  throwIfAny(): void {
    if (this.found.length === 0) return;
    const rank = (field: string) => {
      const i = this.order.indexOf(field);
      return i === -1 ? this.order.length : i;
    };
    const sorted = this.found.map((p, i) => ({ ...p, i })).sort((a, b) => rank(a.field) - rank(b.field) || a.i - b.i);
    throw new FieldErrors(sorted.map((p) => p.description), this.context === 'body' ? 'invalid_body' : 'invalid_query');
  }
}
