// One training session in a run folder: takes the folder over with the
// RunWriter, trains (or resumes from the newest complete checkpoint), and
// leaves the folder in a final state whatever happens. The detached trainer
// process (main.ts) and the CLI both train through this.

import { formatErrors, resolveConfig, upgradeConfig } from '../shared/config';
import { stampEvent, type EventBody, type FinishStatus, type TrainerEvent } from '../shared/events';
import type { Launcher } from '../shared/run';
import { fingerprintDataset } from '../core/fingerprint';
import { RunFolderError, RunWriter } from '../core/run-writer';
import { releaseBackend } from './backend/select';
import { latestCheckpoint } from './train/checkpoint';
import { SystemMonitor } from './system-monitor';
import { train } from './train/run';

/** Process exit codes, shared by the trainer process and the CLI. */
export const EXIT = { completed: 0, failed: 1, usage: 2, stopped: 3, disk: 4 } as const;

export interface SessionOptions {
  dir: string;
  launcher: Launcher;
  jobId?: string;
  /** Continue from the newest complete checkpoint. */
  resume?: boolean;
  /** A new epoch count (extends a resumed run). */
  epochs?: number;
  /** Stop conditions besides control.json (signals, Ctrl+C). */
  shouldStop: () => boolean;
  /** Sees every event once it is on disk (the CLI prints them). */
  onEvent?: (event: TrainerEvent) => void;
}

export async function trainInFolder(opts: SessionOptions): Promise<number> {
  let writer: RunWriter;
  try {
    writer = RunWriter.open(opts.dir, { launcher: opts.launcher, jobId: opts.jobId, resume: opts.resume, epochs: opts.epochs });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return EXIT.disk;
  }
  let system: SystemMonitor | undefined;
  const emit = (body: EventBody) => {
    // `finished` is the session's last event: no sample may follow it while the session cleans up.
    if (body.type === 'finished') system?.stop();
    // As written: a resume that ends before it trains reports the run's result as it was.
    const event = writer.emit(stampEvent(body));
    opts.onEvent?.(event);
  };
  try {
    // A run written before a setting existed trains on as it did (upgradeConfig), not with the new default.
    const resolved = resolveConfig(upgradeConfig(writer.config));
    if (!resolved.ok) return refuse(emit, 'invalid-config', `invalid run config: ${formatErrors(resolved.errors)}`, EXIT.usage);
    writer.setFingerprint(await fingerprintDataset(resolved.config).catch(() => ({ files: 0, bytes: 0, hash: 'unreadable' })));
    let resume: { checkpointDir: string; count: number } | undefined;
    if (opts.resume) {
      const found = await latestCheckpoint(opts.dir);
      if (!found) return refuse(emit, 'resume', `Cannot resume: ${opts.dir} holds no complete checkpoint.`, EXIT.failed);
      resume = { checkpointDir: found.dir, count: writer.resumes };
    }
    system = new SystemMonitor(emit);
    system.start();
    const status = await train({
      config: resolved.config,
      outDir: opts.dir,
      emit,
      shouldStop: () => opts.shouldStop() || writer.stopRequested(),
      onPhase: (phase) => writer.setPhase(phase),
      resume,
    }).finally(() => system?.stop());
    return exitCode(status);
  } catch (err) {
    const message = (err as Error).message;
    process.stderr.write(`${message}\n`);
    writer.failHard(message, err instanceof RunFolderError ? 'disk' : 'internal');
    return err instanceof RunFolderError ? EXIT.disk : EXIT.failed;
  } finally {
    writer.close();
    // The process ends here: the backend's device goes with it (a GPU's memory at once).
    await releaseBackend().catch(() => undefined);
  }
}

function exitCode(status: FinishStatus): number {
  return status === 'completed' ? EXIT.completed : status === 'stopped' ? EXIT.stopped : EXIT.failed;
}

/** Ends a session that cannot train, with the error and a `finished` event in the folder. */
function refuse(emit: (body: EventBody) => void, code: 'invalid-config' | 'resume', message: string, exit: number): number {
  emit({ type: 'error', code, message });
  emit({
    type: 'finished',
    status: 'failed',
    code,
    reason: message,
    summary: { epochs: 0, steps: 0, seconds: 0, imagesPerSec: 0, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null },
  });
  return exit;
}
