// Build the dashboard: src/main.ts with @flowwire/client's sources and dagre, bundled and
// minified by esbuild, the stylesheet, and the page, into asgi_plugin/transport/static/
// (committed: the server ships them in the wheel and runs no Node). A test rebuilds them
// into a temporary folder and fails when the committed files differ.
//   node clients/dashboard/build.mjs [OUT_DIR]        (npm run build:dashboard)
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { syncProtocol } from "../typescript/scripts/protocol.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
syncProtocol();
const out = process.argv[2] ? resolve(process.argv[2]) : join(ROOT, "asgi_plugin/transport/static");
mkdirSync(out, { recursive: true });
const banner = "Generated from clients/dashboard by `npm run build:dashboard`: do not edit.";
await build({
  entryPoints: [join(HERE, "src/main.ts")],
  outfile: join(out, "dashboard.js"),
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  alias: { "@flowwire/client": join(ROOT, "clients/typescript/src/index.ts") },
  external: ["@msgpack/msgpack"], // the dashboard speaks JSON: the MessagePack codec is never loaded
  legalComments: "none",
  banner: { js: `// ${banner}` },
  logLevel: "warning",
});
await build({
  entryPoints: [join(HERE, "src/dashboard.css")],
  outfile: join(out, "dashboard.css"),
  bundle: true,
  minify: true,
  banner: { css: `/* ${banner} */` },
  logLevel: "warning",
});
copyFileSync(join(HERE, "src/index.html"), join(out, "dashboard.html"));
