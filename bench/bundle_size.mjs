// Bundle size of browser WebSocket clients: each entry bundled for the browser by esbuild
// (minified, ESM), then gzipped (level 9). Prints JSON; run by `python -m bench` (bundle).
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { syncProtocol } from "../clients/typescript/scripts/protocol.mjs";

syncProtocol(); // the client is bundled from its TypeScript sources
const CLIENT = new URL("../clients/typescript/src/", import.meta.url).pathname;
const ENTRIES = {
  "@flowwire/client, JSON only (client + execution store)": [`export { FlowwireClient, ExecutionStore } from "${CLIENT}index.ts";`, []],
  "@flowwire/client, JSON only (client alone)": [`export { FlowwireClient } from "${CLIENT}index.ts";`, []],
  "@flowwire/client/react (hooks only; react itself not counted)": [`export * from "${CLIENT}react.ts";`, ["react"]],
  "centrifuge (Centrifuge, JSON)": ['export { Centrifuge } from "centrifuge";', []],
  "socket.io-client (io)": ['export { io } from "socket.io-client";', []],
};
const version = (name) => {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), "utf8")).version;
  } catch {
    return null; // not installed
  }
};

const results = {};
for (const [name, [contents, external]] of Object.entries(ENTRIES)) {
  const peer = name.startsWith("@flowwire") ? null : name.split(" ")[0];
  if (peer && !version(peer)) {
    results[name] = { installed: false };
    continue;
  }
  const out = await build({
    stdin: { contents, resolveDir: new URL(".", import.meta.url).pathname, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    // The MessagePack codec is loaded only for the msgpack subprotocol: not in a JSON build.
    external: ["@msgpack/msgpack", ...external],
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const code = out.outputFiles[0].contents;
  results[name] = {
    installed: true,
    version: version(peer ?? "@flowwire/client"),
    minified_bytes: code.length,
    gzip_bytes: gzipSync(code, { level: 9 }).length,
  };
}
results.esbuild = version("esbuild");
console.log(JSON.stringify(results));
