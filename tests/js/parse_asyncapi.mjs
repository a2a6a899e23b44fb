// Parse an AsyncAPI document with the official parser; print its diagnostics as JSON.
// Exit 0 when the parser reports no error (warnings and hints are printed, not fatal).
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"));
const report = diagnostics.map((d) => ({
  severity: DiagnosticSeverity[d.severity],
  code: d.code,
  message: d.message,
  path: d.path.join("."),
}));
const errors = report.filter((d) => d.severity === "Error");
const summary = document
  ? {
      version: document.version(),
      channels: document.channels().length,
      operations: document.operations().length,
      messages: document.components().messages().length,
    }
  : null;
console.log(JSON.stringify({ summary, errors, diagnostics: report }, null, 2));
process.exit(document && errors.length === 0 ? 0 : 1);
