// Errors the trainer reports to the user: a reason code (ErrorCode) and a
// message that says what to fix; and the shape of the trainer's log.

import { DISK_CODES } from '../core/atomic-file';
import type { ErrorCode } from '../shared/events';
import type { TrainerPhase } from '../shared/run';

/** Where the trainer's parts report: info lines, warnings with a code (the `log` and `warning` events), and what they are busy with (the heartbeat's phase). */
export interface TrainerLog {
  info(message: string): void;
  warn(code: string, message: string): void;
  phase?(phase: TrainerPhase): void;
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

/** True for a full, read-only or failing disk, and for errors already marked `code: 'disk'` (the run writer's). */
export function isDiskError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code === 'disk' || DISK_CODES.has(code));
}

export function describeError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof TrainerError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  if (isDiskError(err)) return { code: 'disk', message };
  if (/out of memory|Cannot allocate|allocation failed|OOM/i.test(message)) {
    return { code: 'out-of-memory', message: `Out of memory: ${message}. Lower the batch size or the image size.` };
  }
  return { code: 'internal', message };
}
