// Build @flowwire/client: src/ (strict TypeScript) to dist/ (ESM + .d.ts) with tsc.
//   node scripts/build.mjs [OUT_DIR]
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { PACKAGE, syncProtocol } from "./protocol.mjs";

syncProtocol();
const outDir = process.argv[2] ? resolve(process.argv[2]) : join(PACKAGE, "dist");
rmSync(outDir, { recursive: true, force: true });
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(PACKAGE, "tsconfig.json"), "--outDir", outDir], { stdio: "inherit" });
