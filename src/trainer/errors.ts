// Trainer errors with a reason code and a message for the user, and the shape of the trainer's log.

import type { ErrorCode } from '../shared/events';

/** Where the trainer's parts report: info lines, and warnings with a code (the `log` and `warning` events). */
export interface TrainerLog {
  info(message: string): void;
  warn(code: string, message: string): void;
}

/** An error with a reason code and a message written for the user (says what to fix). */
export class TrainerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TrainerError';
  }
}

export function describeError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof TrainerError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  if (/out of memory|Cannot allocate|allocation failed|OOM/i.test(message)) {
    return { code: 'out-of-memory', message: `Out of memory: ${message}. Lower the batch size or the image size.` };
  }
  return { code: 'internal', message };
}
