// Generates from contracts/ws.schema.json the TypeScript types (src/lib/ws.gen.ts, with
// json-schema-to-typescript) and the zod parsers (src/lib/ws.zod.gen.ts, zod-from-schema.mjs).
// Usage: node scripts/gen-types.mjs <schema.json> <types.ts> <parsers.ts>   (npm run gen; make contract)
//
// The schema's root is the union of every frame (`WsMessage`); json-schema-to-typescript
// emits what it references. `Envelope` (the shape every frame has before its type is known)
// is referenced by nothing, so it is compiled on its own and appended.
import { readFile, writeFile } from "node:fs/promises";
import { compile } from "json-schema-to-typescript";
import { zodModule } from "./zod-from-schema.mjs";

const [input, output, parsers] = process.argv.slice(2);
if (!input || !output || !parsers) {
  console.error("usage: node scripts/gen-types.mjs <schema.json> <types.ts> <parsers.ts>");
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
await writeFile(parsers, zodModule(schema, banner));
console.log(`wrote ${parsers}`);
