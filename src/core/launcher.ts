// What the run manager asks of a launcher other than this machine's queue (a
// cluster scheduler): start queued runs, cancel a run's trainer or pending job,
// and now and then look after its runs (record why the scheduler ended one).

import type { Launcher, RunRecord } from '../shared/run';

export interface RunLauncher {
  readonly kind: Exclude<Launcher, 'local' | 'cli'>;
  /** Starts (submits) queued runs of this launcher, oldest first; called by the queue lock's holder. */
  launch(queued: RunRecord[]): Promise<void>;
  /** Ends a run's trainer or its pending job; called after a stop request was written to control.json. */
  cancel(record: RunRecord): Promise<void>;
  /** Looks after this launcher's runs as viewers see them; called by the queue lock's holder, throttled by the launcher. */
  reconcile(records: RunRecord[]): Promise<void>;
}
