// src/protocol.ts is a copy of the generated schemas/flowwire.ts (`python -m codegen`):
// the client's frame types are the server's, so a renamed field breaks this package's
// compile. The copy is made before every build and is not committed.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = resolve(PACKAGE, "../..");

export function syncProtocol() {
  const generated = readFileSync(join(ROOT, "schemas/flowwire.ts"), "utf8");
  const target = join(PACKAGE, "src/protocol.ts");
  if (!existsSync(target) || readFileSync(target, "utf8") !== generated) writeFileSync(target, generated);
}
