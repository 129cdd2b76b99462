// Generates src/lib/ws.gen.ts from contracts/ws.schema.json with json-schema-to-typescript.
// Usage: node scripts/gen-types.mjs <schema.json> <out.ts>   (npm run gen; make contract)
//
// The schema's root is the union of every frame (`WsMessage`); json-schema-to-typescript
// emits what it references. `Envelope` (the shape every frame has before its type is known)
// is referenced by nothing, so it is compiled on its own and appended.
import { readFile, writeFile } from "node:fs/promises";
import { compile } from "json-schema-to-typescript";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node scripts/gen-types.mjs <schema.json> <out.ts>");
  process.exit(2);
}
const schema = JSON.parse(await readFile(input, "utf8"));
const options = { additionalProperties: false, strictIndexSignatures: false, unknownAny: true, format: true };
const banner = "/* Generated from contracts/ws.schema.json by `npm run gen` (make contract). Do not edit. */";
const frames = await compile(schema, schema.title, { ...options, bannerComment: banner });
const envelope = await compile({ ...schema.$defs.Envelope, title: "Envelope" }, "Envelope", {
  ...options,
  bannerComment: "",
});
await writeFile(output, `${frames}\n${envelope}`);
console.log(`wrote ${output}`);
