// Markdown built from text the user did not write: run.json files and settings
// anyone can commit to a workspace (shown even in Restricted Mode). Every such
// value goes through here, so a run name cannot become a link, a remote
// image, a heading, HTML or a broken table in a tooltip. No vscode: unit-tested.

/** Line breaks, which could start a heading, list, quote or table row. */
const LINE_BREAKS = /\r\n|[\r\n\v\f\u0085\u2028\u2029]/g;
/**
 * Characters that start markdown syntax: links and images ([ ] ( ) !), emphasis
 * (* _ ~), code (`), headings (#), lists (+ - .), tables (|), escapes (\),
 * autolinks (: breaks "http://", . breaks "www." and e-mail domains) and theme
 * icons ($). A backslash before any of them shows it literally.
 */
const MARKDOWN_PUNCTUATION = /[\\`*_{}[\]()#+\-.!|~:$]/g;
const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Any value as plain text on one line of markdown. */
export function escapeMarkdown(value: unknown): string {
  return String(value)
    .replace(LINE_BREAKS, ' ')
    .replace(/[&<>]/g, (c) => HTML_ENTITIES[c])
    .replace(MARKDOWN_PUNCTUATION, '\\$&');
}

/**
 * Any value as an inline code span on one line. Backslashes do not escape
 * inside code spans, so the fence is one backtick longer than the longest run
 * of backticks in the value, and spaces keep a leading or trailing backtick
 * from joining the fence.
 */
export function markdownCode(value: unknown): string {
  const text = String(value).replace(LINE_BREAKS, ' ');
  const longest = (text.match(/`+/g) ?? []).reduce((n, run) => Math.max(n, run.length), 0);
  const fence = '`'.repeat(longest + 1);
  return `${fence} ${text} ${fence}`;
}

/** A template whose literal parts are markdown and whose values are escaped: markdown`**${name}** (${status})`. */
export function markdown(literals: TemplateStringsArray, ...values: unknown[]): string {
  return literals.reduce((out, literal, i) => out + escapeMarkdown(values[i - 1]) + literal);
}
