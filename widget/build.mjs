// Builds ticker/static/widget.js, the file the service ships: widget/widget.js with the word list it shares with
// the HTML fragment (ticker/render/words.json) written in, minified by terser (pinned in package-lock.json).
// The same inputs and the same terser give the same bytes: tests/test_widget_build.py rebuilds and compares.
//   npm ci --prefix widget && node widget/build.mjs            (writes ticker/static/widget.js)
//   node widget/build.mjs --stdout                             (prints it)
import { readFileSync, writeFileSync } from "node:fs";
import { minify } from "terser";

const at = (path) => new URL(path, import.meta.url);
const source = readFileSync(at("widget.js"), "utf8");
const words = JSON.parse(readFileSync(at("../ticker/render/words.json"), "utf8"));
for (const lang of Object.values(words)) for (const key of Object.keys(lang)) if (key.endsWith("_name")) delete lang[key]; // the fragment's
if (source.split("__WORDS__").length !== 2) throw new Error("widget.js must hold __WORDS__ exactly once");

const { code } = await minify(source.replace("__WORDS__", JSON.stringify(words)), {
  compress: { passes: 3, unsafe: true, pure_getters: true },
  // the widget object's own fields, and only those (never a name the API's JSON or the DOM uses)
  mangle: { properties: { regex: /^(strip|row|credit|live|words|ask|inlineNext|chart|histories|charted|shown|said|say|lastRaw|etag|timer|streamFailures|streamRetry|staleTimer|busyTimer|halted)$/ } },
  format: { comments: false },
});
const banner = "/* ticker widget.js, built by widget/build.mjs from widget/widget.js (README: \"The widget\") */\n";
const out = banner + code + "\n";
if (process.argv.includes("--stdout")) process.stdout.write(out);
else writeFileSync(at("../ticker/static/widget.js"), out);
