// Worker threads that render synthetic faces (the same worker script as training),
// so the built-in dataset is drawn on every core.

import { Worker } from 'node:worker_threads';
import type { RunConfig } from '../../shared/config';
import type { RangeRenderer, Split } from './synthetic';

export class RenderPool {
  private next = 0;
  private constructor(private readonly workers: Worker[]) {}

  static create(config: RunConfig, threads: number, script: string): RenderPool {
    return new RenderPool(Array.from({ length: Math.max(0, threads - 1) }, () => new Worker(script, { workerData: { mode: 'render', config }, stdout: false, stderr: false })));
  }

  get size(): number {
    return this.workers.length + 1;
  }

  readonly render: RangeRenderer = (split: Split, from: number, to: number, perIdentity: number) => {
    const worker = this.workers[this.next++ % this.workers.length];
    const id = `${split}:${from}`;
    return new Promise<Float32Array>((resolve, reject) => {
      const onMessage = (m: { id: string; pixels?: Float32Array; error?: string }) => {
        if (m.id !== id) return;
        cleanup();
        if (m.pixels) resolve(m.pixels);
        else reject(new Error(`rendering synthetic faces failed: ${m.error}`));
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new Error(`a rendering worker failed: ${err.message}`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage({ type: 'render', id, split, from, to, perIdentity });
    });
  };

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
