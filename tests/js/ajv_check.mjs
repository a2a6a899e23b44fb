// Compile JSON Schemas with ajv (draft 2020-12, strict mode) and judge a corpus of frames.
//   node ajv_check.mjs corpus.json schema.json [schema.json ...]
// corpus.json: [{"schema": "<file name>", "frame": <any JSON>}, ...]
// Prints {"compiled": [...], "errors": {file: message}, "verdicts": [true|false, ...]};
// exits 1 when a schema does not compile.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";

const [corpusPath, ...schemaPaths] = process.argv.slice(2);
const compiled = [];
const errors = {};
const validators = {};
for (const path of schemaPaths) {
  // A fresh instance per file: the documents share $defs names but not $ids.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  try {
    validators[basename(path)] = ajv.compile(JSON.parse(readFileSync(path, "utf8")));
    compiled.push(basename(path));
  } catch (error) {
    errors[basename(path)] = String(error.message ?? error);
  }
}
const corpus = corpusPath === "-" ? [] : JSON.parse(readFileSync(corpusPath, "utf8"));
const verdicts = corpus.map(({ schema, frame }) => {
  const validate = validators[schema];
  return validate ? validate(frame) : null;
});
console.log(JSON.stringify({ compiled, errors, verdicts }));
process.exit(Object.keys(errors).length ? 1 : 0);
