// Compiles contracts/ws.schema.json into zod 4 source: one exported parser per $def, `WsMessage`
// (the root union) and `FRAMES` (every frame's parser by stream and type). Used by gen-types.mjs.
//
// Why not a published converter: they map `additionalProperties: false` to `.strict()` (a
// reader would then reject a newer server's extra field) and emit zod 3 code. Here the schema's
// few keywords map one to one, except on purpose:
// - `additionalProperties: false` -> z.object (unknown fields dropped: readers are tolerant;
//   the schema stays strict for producers); `true` -> z.looseObject (kept) or, with no
//   properties, a record of unknowns;
// - a property not in `required` -> `.optional()`: absent, never null (null only where the
//   schema says `anyOf [.., {type: null}]`, which becomes `.nullable()`).
// Any other keyword fails the generation, so a schema change is never silently loosened.

const ANNOTATIONS = new Set(["description", "title", "$id", "$schema", "$defs", "default", "examples"]);
const HANDLED = new Set([
  "type",
  "const",
  "enum",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "anyOf",
  "oneOf",
  "$ref",
]);

const literal = (value) => JSON.stringify(value);
const key = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : literal(name));
const doc = (text, indent = "") =>
  text ? `${indent}/** ${text.replaceAll("*/", "* /").split("\n").join(`\n${indent} * `)} */\n` : "";

function refName(ref, where) {
  const match = /^#\/\$defs\/([A-Za-z_$][\w$]*)$/.exec(ref);
  if (!match) throw new Error(`${where}: unsupported $ref ${ref} (only #/$defs/Name)`);
  return match[1];
}

function bounds(node) {
  let out = "";
  if (node.minimum !== undefined) out += `.min(${node.minimum})`;
  if (node.maximum !== undefined) out += `.max(${node.maximum})`;
  if (node.exclusiveMinimum !== undefined) out += `.gt(${node.exclusiveMinimum})`;
  if (node.exclusiveMaximum !== undefined) out += `.lt(${node.exclusiveMaximum})`;
  return out;
}

function object(node, where, indent) {
  const properties = node.properties ?? {};
  const names = Object.keys(properties);
  const extra = node.additionalProperties ?? true;
  if (typeof extra !== "boolean") throw new Error(`${where}: additionalProperties must be true or false`);
  if (names.length === 0 && extra) return "z.record(z.string(), z.unknown())";
  const required = new Set(node.required ?? []);
  for (const name of required) if (!names.includes(name)) throw new Error(`${where}: required ${name} has no property`);
  // Required fields first, in the schema's `required` order (the contract's field order).
  const ordered = [...(node.required ?? []), ...names.filter((n) => !required.has(n))];
  const inner = `${indent}  `;
  const fields = ordered.map((name) => {
    const schema = expression(properties[name], `${where}.${name}`, inner);
    return `${inner}${key(name)}: ${schema}${required.has(name) ? "" : ".optional()"},\n`;
  });
  const body = fields.length === 0 ? "{}" : `{\n${fields.join("")}${indent}}`;
  return `${extra ? "z.looseObject" : "z.object"}(${body})`;
}

function union(members, where, indent) {
  const isNull = (m) => m.type === "null" && Object.keys(m).length === 1;
  if (members.length === 2 && members.some(isNull)) {
    return `${expression(members.find((m) => !isNull(m)), where, indent)}.nullable()`;
  }
  const inner = `${indent}  `;
  return `z.union([\n${members.map((m, i) => `${inner}${expression(m, `${where}[${i}]`, inner)},\n`).join("")}${indent}])`;
}

/** The zod expression of one schema node. */
function expression(node, where, indent = "") {
  for (const k of Object.keys(node)) {
    if (!HANDLED.has(k) && !ANNOTATIONS.has(k)) throw new Error(`${where}: unsupported keyword ${k}`);
  }
  if (node.$ref !== undefined) return refName(node.$ref, where);
  if (node.anyOf !== undefined) return union(node.anyOf, where, indent);
  if (node.oneOf !== undefined) return union(node.oneOf, where, indent);
  if (node.const !== undefined) return `z.literal(${literal(node.const)})`;
  if (node.enum !== undefined) {
    return node.enum.every((v) => typeof v === "string")
      ? `z.enum([${node.enum.map(literal).join(", ")}])`
      : `z.union([${node.enum.map((v) => `z.literal(${literal(v)})`).join(", ")}])`;
  }
  switch (node.type) {
    case "object":
      return object(node, where, indent);
    case "array":
      if (node.items === undefined) throw new Error(`${where}: an array needs items`);
      return `z.array(${expression(node.items, `${where}[]`, indent)})`;
    case "string":
      return "z.string()";
    case "boolean":
      return "z.boolean()";
    case "null":
      return "z.null()";
    case "integer":
      return `z.int()${bounds(node)}`;
    case "number":
      return `z.number()${bounds(node)}`;
    default:
      throw new Error(`${where}: unsupported type ${JSON.stringify(node.type)}`);
  }
}

/** The $refs under a node: what its definition must follow. */
function refs(node, out = new Set()) {
  if (Array.isArray(node)) for (const n of node) refs(n, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref") out.add(refName(v, "$ref"));
      else refs(v, out);
    }
  }
  return out;
}

/** Definition names, each after the definitions it refers to (the schema has no cycles). */
function ordered(defs) {
  const done = new Set();
  const visiting = new Set();
  const out = [];
  const visit = (name) => {
    if (done.has(name)) return;
    if (!(name in defs)) throw new Error(`$ref to a missing definition ${name}`);
    if (visiting.has(name)) throw new Error(`a cycle through ${name}`);
    visiting.add(name);
    for (const dep of [...refs(defs[name])].sort()) visit(dep);
    visiting.delete(name);
    done.add(name);
    out.push(name);
  };
  for (const name of Object.keys(defs).sort()) visit(name);
  return out;
}

/** stream -> type -> the definition of that frame, from the root union of the streams' unions. */
function frames(schema) {
  const defs = schema.$defs;
  const out = {};
  for (const stream of schema.anyOf ?? []) {
    for (const member of defs[refName(stream.$ref, "root")].oneOf) {
      const name = refName(member.$ref, stream.$ref);
      const { channel, type } = defs[name].properties;
      if (channel?.const === undefined || type?.const === undefined) throw new Error(`${name}: no const channel and type`);
      (out[channel.const] ??= {})[type.const] = name;
    }
  }
  return out;
}

/** The zod module of a schema whose root is `anyOf` the streams' `oneOf` unions of frames. */
export function zodModule(schema, banner) {
  const defs = schema.$defs ?? {};
  const parts = [`${banner}\nimport { z } from "zod";\n`];
  for (const name of ordered(defs)) {
    parts.push(`${doc(defs[name].description)}export const ${name} = ${expression(defs[name], name)};\n`);
  }
  const { $defs: _defs, ...root } = schema;
  parts.push(`${doc(schema.description)}export const ${schema.title} = ${expression(root, schema.title)};\n`);
  const table = Object.entries(frames(schema))
    .map(([stream, types]) => {
      const rows = Object.entries(types).map(([type, name]) => `    ${literal(type)}: ${name},\n`);
      return `  ${key(stream)}: {\n${rows.join("")}  },\n`;
    })
    .join("");
  parts.push(`/** Every frame's parser by stream and type. */\nexport const FRAMES = {\n${table}} as const;\n`);
  return parts.join("\n");
}
