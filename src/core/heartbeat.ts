// The trainer's heartbeat, beaten from a worker thread: the training thread
// can block for long stretches (rendering synthetic faces, decoding, scoring a
// million pairs) without its run looking dead to every window. The beat says
// the process lives; progress is what events and run.json say.

import { Worker } from 'node:worker_threads';
import type { Heartbeat } from '../shared/run';

/** The state word shared with the worker: a beat is written only from IDLE, and STOPPED ends beating for good. */
const IDLE = 0;
const WRITING = 1;
const STOPPED = 2;
/** How long closing waits for a beat being written to finish (a write and an fsync). */
const STOP_WAIT_MS = 2000;

/** Runs in the worker: replace heartbeat.json atomically every interval and at each phase change. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { file, intervalMs, host, pid, state } = workerData;
const flag = new Int32Array(state);
let phase = workerData.phase;
function beat() {
  // Idle -> writing, unless the owner has stopped the heart (then never write again).
  if (Atomics.compareExchange(flag, 0, ${IDLE}, ${WRITING}) !== ${IDLE}) return;
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
  } finally {
    Atomics.store(flag, 0, ${IDLE});
    Atomics.notify(flag, 0);
  }
}
setInterval(beat, intervalMs);
parentPort.on('message', (m) => {
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
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private stopped = false;

  /** `first` is already on disk (written by the caller); the thread takes over from there. */
  constructor(file: string, first: Heartbeat, intervalMs: number, onFailure: (failure: BeatFailure) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, intervalMs, host: first.host, pid: first.pid, phase: first.phase, state: this.state.buffer } });
    this.worker.on('message', (m: BeatFailure) => onFailure(m));
    this.worker.on('error', (err) => onFailure({ message: `the heartbeat thread failed: ${err.message}` }));
    // A run that ends must not be held open by its heartbeat.
    this.worker.unref();
  }

  setPhase(phase: string): void {
    if (!this.stopped) this.worker.postMessage({ phase });
  }

  /** Stops beating; waits for a beat being written, so no temp file is left behind when the process exits. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const t0 = Date.now();
    while (Atomics.compareExchange(this.state, 0, IDLE, STOPPED) === WRITING && Date.now() - t0 < STOP_WAIT_MS) {
      Atomics.wait(this.state, 0, WRITING, STOP_WAIT_MS);
    }
    void this.worker.terminate();
  }
}
