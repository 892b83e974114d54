// RunFollower benchmark (not a test):
// - reading a ~600 MB events.jsonl (step events with an epoch event every
//   STEPS_PER_EPOCH) into a SnapshotBuilder: MB/s, events/s, peak RSS;
// - an idle poll (nothing changed);
// - event-to-ready latency: one event appended, until a watching follower
//   delivers it, at the dashboard's poll interval and a shorter one.
//   npx tsx bench/follower.ts [--mb 600]

import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunFollower } from '../src/core/run-follower';
import { DEFAULT_CONFIG } from '../src/shared/config';
import { SnapshotBuilder } from '../src/shared/dashboard';
import type { EpochEvent, StepEvent, TrainerEvent } from '../src/shared/events';
import { median } from '../src/shared/format';

const MB = 1024 * 1024;
const TARGET_MB = Number(process.argv[process.argv.indexOf('--mb') + 1]) || 600;
/** The generated file repeats one block of this size (writing 600 MB of distinct lines would dominate the run). */
const BLOCK_BYTES = 8 * MB;
const STEPS_PER_EPOCH = 2000;
/** The dashboard's FOLLOW_MS, and a faster poll for comparison. */
const INTERVALS_MS = [250, 100];
const LATENCY_EVENTS = 50;

function step(i: number): StepEvent {
  return {
    v: 1,
    time: 1_796_000_000_000 + i * 200,
    type: 'step',
    epoch: 1 + Math.floor((i - 1) / STEPS_PER_EPOCH),
    step: i,
    epochStep: ((i - 1) % STEPS_PER_EPOCH) + 1,
    loss: 5 * Math.exp(-i / 30000) + 0.1 * Math.random(),
    accuracy: Math.min(1, i / 1e5 + 0.05 * Math.random()),
    alpha: 16 + Math.random(),
    featureNorm: { mean: 10 + Math.sin(i / 1000), min: 5 + Math.random(), max: 15 + Math.random() },
    imagesPerSec: 2300 + 100 * Math.random(),
  };
}

function epoch(e: number): EpochEvent {
  const acc = 0.8 + e / 1000;
  return {
    v: 1,
    time: 1_796_000_000_000,
    type: 'epoch',
    epoch: e,
    epochs: 1000,
    trainLoss: 1.5,
    trainAccuracy: 0.7,
    alpha: 16.2,
    featureNorm: { mean: 10, min: 5, max: 15 },
    validation: { accuracy: 0.7, loss: 1.4, images: 5000 },
    verification: {
      pairs: 6000,
      accuracy: acc,
      accuracyStd: 0.01,
      threshold: 0.3,
      auc: 0.97,
      eer: 0.08,
      tarAtFar: [1e-4, 1e-3, 1e-2, 1e-1].map((far) => ({ far, tar: acc * (1 + Math.log10(far) / 10), threshold: 0.5 })),
      roc: Array.from({ length: 61 }, (_, k) => ({ far: 10 ** (-5 + k / 12), tar: Math.min(1, acc + k / 200) })),
    },
    seconds: 60,
    imagesPerSec: 2300,
  };
}

/** One block of realistic lines, BLOCK_BYTES or a little less, ending with a newline. */
function block(): { bytes: Buffer; events: number } {
  const lines: string[] = [];
  let size = 0;
  for (let i = 1; ; i++) {
    const l = JSON.stringify(step(i)) + '\n' + (i % STEPS_PER_EPOCH ? '' : JSON.stringify(epoch(i / STEPS_PER_EPOCH)) + '\n');
    if (size + l.length > BLOCK_BYTES) break;
    lines.push(l);
    size += l.length;
  }
  const bytes = Buffer.from(lines.join(''));
  return { bytes, events: bytes.toString().split('\n').length - 1 };
}

function writeEvents(file: string): { bytes: number; events: number } {
  const b = block();
  const copies = Math.max(1, Math.round((TARGET_MB * MB) / b.bytes.length));
  const fd = openSync(file, 'w');
  try {
    for (let k = 0; k < copies; k++) writeSync(fd, b.bytes);
  } finally {
    closeSync(fd);
  }
  return { bytes: b.bytes.length * copies, events: b.events * copies };
}

async function readAll(dir: string, bytes: number) {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const builder = new SnapshotBuilder({ id: 'bench', name: 'bench', status: 'completed', config: DEFAULT_CONFIG, createdAt: '' });
  let events = 0;
  const t0 = performance.now();
  const update = await new RunFollower(dir).poll((chunk, reset) => {
    if (reset) builder.reset();
    events += chunk.length;
    builder.add(chunk);
  });
  builder.skipped = update.skipped;
  const snap = builder.build();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { seconds, events, mbPerSec: bytes / MB / seconds, rss0, peak, points: snap.steps.step.length, epochs: snap.epochs.length, skipped: update.skipped };
}

async function idlePoll(dir: string): Promise<number> {
  const f = new RunFollower(dir);
  await f.poll(() => undefined);
  const n = 200;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f.poll();
  return ((performance.now() - t0) / n) * 1000;
}

/** Appends one event at a random moment relative to the poll timer and waits until the watcher delivers it. */
async function latency(dir: string, intervalMs: number): Promise<number[]> {
  const file = path.join(dir, 'events.jsonl');
  const f = new RunFollower(dir);
  await f.poll(() => undefined);
  let waiting: { step: number; t0: number; resolve: (ms: number) => void } | undefined;
  const watch = f.watch(intervalMs, (u) => {
    for (const e of u.events as TrainerEvent[]) if (waiting && e.type === 'step' && e.step === waiting.step) waiting.resolve(performance.now() - waiting.t0);
  });
  const out: number[] = [];
  try {
    for (let k = 0; k < LATENCY_EVENTS; k++) {
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      const s = 1e9 + k;
      const ms = await new Promise<number>((resolve) => {
        waiting = { step: s, t0: performance.now(), resolve };
        appendFileSync(file, JSON.stringify(step(s)) + '\n');
      });
      out.push(ms);
    }
  } finally {
    watch.dispose();
  }
  return out;
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.95 * xs.length))];

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'l2softmax-follower-bench-'));
  try {
    const t0 = performance.now();
    const { bytes, events } = writeEvents(path.join(dir, 'events.jsonl'));
    console.log(`wrote ${(bytes / MB).toFixed(0)} MB, ${events.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(1)} s (page cache warm for the read)`);
    const r = await readAll(dir, statSync(path.join(dir, 'events.jsonl')).size);
    const idleUs = await idlePoll(dir);
    const rows: [string, string][] = [
      ['read into SnapshotBuilder', `${r.seconds.toFixed(1)} s`],
      ['throughput', `${r.mbPerSec.toFixed(0)} MB/s, ${(r.events / r.seconds / 1000).toFixed(0)}k events/s`],
      ['events read / skipped', `${r.events.toLocaleString('en-US')} / ${r.skipped}`],
      ['snapshot', `${r.points.toLocaleString('en-US')} step points, ${r.epochs} epochs`],
      ['RSS before / peak', `${(r.rss0 / MB).toFixed(0)} / ${(r.peak / MB).toFixed(0)} MB (max RSS of the process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`],
      ['idle poll (nothing new)', `${idleUs.toFixed(0)} µs`],
    ];
    for (const interval of INTERVALS_MS) {
      const lat = await latency(dir, interval);
      rows.push([`event-to-ready, poll ${interval} ms`, `median ${median(lat).toFixed(0)} ms, p95 ${p95(lat).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms (${lat.length} events)`]);
    }
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\n| ${'measure'.padEnd(width)} | value |\n| ${'-'.repeat(width)} | --- |`);
    for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
