// Loading a reference system's documented frontend code (test/reference/) into Node: its
// TypeScript is stripped by esbuild (no type changes, no bundling: it imports the same
// React as react-test-renderer) and its server address replaced by the live server's.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILD = join(HERE, ".reference-build");
let loads = 0;

/** Import `test/reference/<file>` with `replacements` ([from, to], applied verbatim). */
export async function loadReference(file, replacements = []) {
  let source = readFileSync(join(HERE, "reference", file), "utf8");
  for (const [from, to] of replacements) {
    if (!source.includes(from)) throw new Error(`${file} no longer contains ${from}`);
    source = source.split(from).join(to);
  }
  const { code } = await transform(source, { loader: file.endsWith("x") ? "tsx" : "ts", format: "esm", jsx: "automatic" });
  mkdirSync(BUILD, { recursive: true });
  const out = join(BUILD, `${file.replace(/\.\w+$/, "")}-${process.pid}-${++loads}.mjs`);
  writeFileSync(out, code);
  return import(out);
}

/** Record what reaches console.log / console.error (the reference code logs each message
 * it handles), with a signal for `until`. */
export function consoleSpy(changed) {
  const logged = [];
  const original = { log: console.log, error: console.error };
  for (const level of ["log", "error"]) {
    console[level] = (...args) => {
      logged.push({ level, text: String(args[0]), value: args[1] });
      changed.fire();
    };
  }
  return { logged, restore: () => Object.assign(console, original) };
}
