// Keeps the process's stdout for its own output (protocol events, the CLI's report).

import { format } from 'node:util';

/**
 * Sends everything printed through console.* (tfjs banners, library warnings)
 * to stderr, so stdout carries only our own output: protocol events or the CLI's report.
 */
export function consoleToStderr(): void {
  const write = (...args: unknown[]) => process.stderr.write(format(...args) + '\n');
  console.log = write;
  console.info = write;
  console.warn = write;
  console.debug = write;
}
