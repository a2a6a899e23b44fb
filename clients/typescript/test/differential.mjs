// Folds event streams with the client's store, for the differential test against the
// server's materializer (tests/clients/test_typescript.py): node differential.mjs IN OUT.
// IN: [{name, frames}]; OUT: [{name, snapshots: {execution_id: ExecutionSnapshot}}].
import { readFileSync, writeFileSync } from "node:fs";
import { ExecutionStore } from "@flowwire/client";

const [input, output] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(input, "utf8"));
const results = cases.map(({ name, frames }) => {
  const store = new ExecutionStore(undefined, { maxFinished: Infinity });
  for (const frame of frames) store.apply(frame);
  const snapshots = {};
  for (const view of store.list()) snapshots[view.execution_id] = store.snapshot(view.execution_id);
  return { name, snapshots };
});
writeFileSync(output, JSON.stringify(results));
