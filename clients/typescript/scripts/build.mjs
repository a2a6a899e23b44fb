// Build @flowwire/client: copy the generated wire types (schemas/flowwire.ts, written by
// `python -m codegen`) into src/protocol.ts, then compile src/ to dist/ (ESM + .d.ts).
// The client imports every frame type from that file, so a renamed field in the Python
// Structs breaks this compile, not a user's page.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const schemas = resolve(here, "../../schemas/flowwire.ts");
const target = join(here, "src/protocol.ts");
const generated = readFileSync(schemas, "utf8");
if (!existsSync(target) || readFileSync(target, "utf8") !== generated) writeFileSync(target, generated);

const outDir = process.argv[2] ? resolve(process.argv[2]) : join(here, "dist");
rmSync(outDir, { recursive: true, force: true });
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(here, "tsconfig.json"), "--outDir", outDir], {
  stdio: "inherit",
});
