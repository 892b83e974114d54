// Tooltips from untrusted content: no command links, no HTML, no theme icons.
// The text itself is escaped with src/core/markdown.ts.

import * as vscode from 'vscode';

export function untrustedMarkdown(value = ''): vscode.MarkdownString {
  const md = new vscode.MarkdownString(value, false);
  md.isTrusted = false;
  md.supportHtml = false;
  return md;
}
