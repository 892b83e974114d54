// The trainer's heartbeat, beaten from a worker thread: the training thread
// can block for long stretches (rendering synthetic faces, decoding, scoring a
// million pairs) without its run looking dead to every window. The beat says
// the process lives; progress is what events and run.json say.

import { Worker } from 'node:worker_threads';
import type { Heartbeat } from '../shared/run';

/** Runs in the worker: replace heartbeat.json atomically every interval and at each phase change. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { file, intervalMs, host, pid } = workerData;
let phase = workerData.phase;
function beat() {
  const tmp = file + '.' + pid + '.beat.tmp';
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify({ time: Date.now(), host, pid, phase }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    try { fs.rmSync(tmp, { force: true }); } catch {}
    parentPort.postMessage({ code: err.code, message: err.message });
  }
}
const timer = setInterval(beat, intervalMs);
parentPort.on('message', (m) => {
  if (m.stop) {
    clearInterval(timer);
    parentPort.close();
    return;
  }
  phase = m.phase;
  beat();
});
`;

export interface BeatFailure {
  code?: string;
  message: string;
}

export class HeartbeatThread {
  private readonly worker: Worker;
  private stopped = false;

  /** `first` is already on disk (written by the caller); the thread takes over from there. */
  constructor(file: string, first: Heartbeat, intervalMs: number, onFailure: (failure: BeatFailure) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, intervalMs, host: first.host, pid: first.pid, phase: first.phase } });
    this.worker.on('message', (m: BeatFailure) => onFailure(m));
    this.worker.on('error', (err) => onFailure({ message: `the heartbeat thread failed: ${err.message}` }));
    // A run that ends must not be held open by its heartbeat.
    this.worker.unref();
  }

  setPhase(phase: string): void {
    if (!this.stopped) this.worker.postMessage({ phase });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.postMessage({ stop: true });
    void this.worker.terminate();
  }
}
