// The message registry (schema.js, generated from `gridpact schema`): every message type's
// number, name and payload layout, and every event's layout.
import { decodeFields, encodeFields } from './codec.js';
import { schema as generated } from './schema.js';

export class Registry {
  constructor(schema) {
    this.schema = schema;
    this.messages = new Map(schema.messages.map((m) => [m.name, m]));
    this.byType = new Map(schema.messages.map((m) => [m.type, m]));
    this.events = new Map(schema.events.map((e) => [e.type, e]));
  }
  message(nameOrType) {
    const m = typeof nameOrType === 'number' ? this.byType.get(nameOrType) : this.messages.get(nameOrType);
    if (!m) throw new Error(`no message ${nameOrType} in the schema (regenerate it?)`);
    return m;
  }
  /** [type number, payload bytes] of a message given as its fields' values. */
  encodePayload(nameOrType, value) {
    const m = this.message(nameOrType);
    return [m.type, encodeFields(m.fields, value)];
  }
  decodePayload(type, payload) { return decodeFields(this.message(type).fields, payload); }
  /** An event's fields (a receipt's events carry their canonical encoding); null if unknown. */
  decodeEvent(type, data) {
    const e = this.events.get(type);
    return e ? decodeFields(e.fields, data) : null;
  }
}

export const registry = new Registry(generated);
