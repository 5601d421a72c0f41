// Builds the files the service ships, minified by terser (pinned in package-lock.json):
//   ticker/static/widget.js          widget/widget.js with the word list it shares with the HTML fragment
//                                    (ticker/render/words.json) written in
//   ticker/static/widget-history.js  widget/history.js, data-history's panel, which widget.js loads when a strip
//                                    asks for it, by a URL versioned with this file's hash (cached immutable)
// The same inputs and the same terser give the same bytes: tests/test_widget_build.py rebuilds and compares.
//   npm ci --prefix widget && node widget/build.mjs            (writes both into ticker/static/)
//   node widget/build.mjs --out DIR                            (writes them into DIR)
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { minify } from "terser";

const at = (path) => new URL(path, import.meta.url);
const source = readFileSync(at("widget.js"), "utf8");
const historySource = readFileSync(at("history.js"), "utf8");
const words = JSON.parse(readFileSync(at("../ticker/render/words.json"), "utf8"));
for (const lang of Object.values(words)) for (const key of Object.keys(lang)) if (key.endsWith("_name")) delete lang[key]; // the fragment's
if (source.split("__WORDS__").length !== 2) throw new Error("widget.js must hold __WORDS__ exactly once");

// one cache of mangled property names for both files: history.js uses the widget object widget.js makes
const nameCache = {};
const options = (properties) => ({
  compress: { passes: 3, unsafe: true, pure_getters: true },
  mangle: { properties },
  format: { comments: false },
  nameCache,
});
// the widget object's own fields, and only those (never a name the API's JSON or the DOM uses)
const fields = /^(strip|row|credit|live|words|ask|inlineNext|chart|histories|charted|shown|said|say|lastRaw|etag|timer|streamFailures|streamRetry|staleTimer|busyTimer|halted)$/;
const widget = (await minify(source.replace("__WORDS__", JSON.stringify(words)), options({ regex: fields }))).code;
// history.js: only the names widget.js gave (its own fields keep theirs: a new short name could be one of widget.js's)
const history = (await minify(historySource, options({ regex: fields, only_cache: true }))).code;

const banner = (what, from) => `/* ticker ${what}, built by widget/build.mjs from widget/${from} (README: "The widget") */\n`;
const historyOut = banner("widget-history.js", "history.js") + history + "\n";
const version = createHash("sha256").update(historyOut).digest("hex").slice(0, 16); // as ticker/web/assets.py names it
if (widget.split("__HISTORY__").length !== 2) throw new Error("widget.js must name widget-history.js?v=__HISTORY__ once");
const widgetOut = banner("widget.js", "widget.js") + widget.replace("__HISTORY__", version) + "\n";

const flag = process.argv.indexOf("--out");
const dir = flag > 0 ? process.argv[flag + 1] : fileURLToPath(at("../ticker/static/"));
writeFileSync(join(dir, "widget.js"), widgetOut);
writeFileSync(join(dir, "widget-history.js"), historyOut);
