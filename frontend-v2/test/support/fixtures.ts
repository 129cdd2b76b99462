/** contracts/fixtures, read once. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../../../contracts/fixtures", import.meta.url));

export interface ValidFixture {
  readonly name: string;
  readonly note: string;
  readonly message: { id: number | null; channel: string; type: string; payload: Record<string, unknown>; ts: number };
}

export interface InvalidFixture {
  readonly name: string;
  readonly note: string;
  readonly path: string;
  readonly message: Record<string, unknown>;
}

function files(directory: string): string[] {
  return readdirSync(directory)
    .sort()
    .flatMap((entry) => {
      const path = join(directory, entry);
      return statSync(path).isDirectory() ? files(path) : entry.endsWith(".json") ? [path] : [];
    });
}

function load<T>(directory: string): T[] {
  return files(join(FIXTURES, directory)).map((path) => ({
    name: relative(FIXTURES, path),
    ...(JSON.parse(readFileSync(path, "utf8")) as object),
  })) as T[];
}

export const VALID = load<ValidFixture>("valid");
export const INVALID = load<InvalidFixture>("invalid");
