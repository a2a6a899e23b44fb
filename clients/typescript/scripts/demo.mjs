// Build the demo page's script: demo/demo.ts and the client's sources, bundled and
// minified by esbuild into asgi_plugin/demo/static/demo.js, which is committed (the demo
// runs from a wheel with no Node). A test rebuilds it and fails when the committed file
// is stale.    node scripts/demo.mjs [OUT_FILE]
import { build } from "esbuild";
import { join, resolve } from "node:path";
import { PACKAGE, ROOT, syncProtocol } from "./protocol.mjs";

syncProtocol();
const outfile = process.argv[2] ? resolve(process.argv[2]) : join(ROOT, "asgi_plugin/demo/static/demo.js");
await build({
  entryPoints: [join(PACKAGE, "demo/demo.ts")],
  outfile,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  external: ["@msgpack/msgpack"], // the demo speaks JSON: the MessagePack codec is never loaded
  legalComments: "none",
  banner: { js: "// Generated from clients/typescript/demo/demo.ts by `npm run build:demo` (clients/typescript): do not edit." },
  logLevel: "warning",
});
