// Reads one run folder as its trainer writes it (the contract in
// src/shared/run.ts), from any process on any machine that shares the folder:
// events.jsonl incrementally by byte offset, run.json and heartbeat.json when
// they change. Polls with stat (file watchers drop events on network folders);
// a poll that finds nothing new costs one stat per file. Never throws on what is
// in the files: lines that are not valid events are skipped and counted.

import { promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { parseEventLine, type TrainerEvent } from '../shared/events';
import { ACTIVE_STATUSES, RUN_FILES, RUN_STATUSES, type Heartbeat, type RunRecord } from '../shared/run';
import type { Disposable } from './emitter';

/** Bytes read at once: large enough for full-speed reads, small enough to hold a few per window. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** A longer "line" is garbage (no event comes near it): it is skipped, not buffered. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Bytes at the start of events.jsonl compared on each read: a file rewritten in place shows a different first event. */
const HEAD_BYTES = 256;

const NEWLINE = 0x0a;
const NUL = 0;

export interface FollowerOptions {
  chunkBytes?: number;
  maxLineBytes?: number;
}

/** Receives events as they are read, one chunk at a time; `reset` is true on the first call after the events file was replaced or truncated. */
export type EventSink = (events: TrainerEvent[], reset: boolean) => void | Promise<void>;

export interface FollowerUpdate {
  /** Events read by this poll (empty when a sink received them). */
  events: TrainerEvent[];
  /** The events file was replaced or truncated: forget earlier events; `events` start from its beginning. */
  reset: boolean;
  /** run.json, when its content changed since the last poll. */
  record?: RunRecord;
  /** heartbeat.json, when its content changed since the last poll. */
  heartbeat?: Heartbeat;
  /** Lines skipped so far (since the last reset) because they were not valid events. */
  skipped: number;
  /** Bytes of events.jsonl consumed so far. */
  offset: number;
}

/** What identifies one file: a replaced file (rename over, delete and create) differs. */
const identity = (s: Stats) => `${s.dev}:${s.ino}:${s.birthtimeMs}`;

/** What changes whenever a small file is rewritten. */
const signature = (s: Stats) => `${identity(s)}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await fs.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** JSON.parse that drops `__proto__` keys, so merging the result later cannot reach Object.prototype. */
function parseJson(text: string): unknown {
  return text.includes('__proto__') || text.includes('\\u') ? JSON.parse(text, (k, v: unknown) => (k === '__proto__' ? undefined : v)) : JSON.parse(text);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

export function isRunRecord(x: unknown): x is RunRecord {
  return isObject(x) && typeof x.id === 'string' && typeof x.name === 'string' && (RUN_STATUSES as readonly unknown[]).includes(x.status) && typeof x.createdAt === 'string' && isObject(x.config);
}

export function isHeartbeat(x: unknown): x is Heartbeat {
  return isObject(x) && Number.isFinite(x.time) && typeof x.host === 'string' && Number.isSafeInteger(x.pid) && (x.phase === undefined || typeof x.phase === 'string');
}

/** A small JSON file re-read only when its stat changes; a file that does not parse keeps the previous value. */
class JsonFile<T> {
  value: T | undefined;
  private seen = '';
  private text = '';

  constructor(
    private readonly file: string,
    private readonly valid: (x: unknown) => x is T,
  ) {}

  /** The new value when the file's content changed into a valid one. */
  async read(): Promise<T | undefined> {
    const st = await statOrUndefined(this.file);
    const sig = st ? signature(st) : '';
    if (sig === this.seen) return undefined;
    this.seen = sig;
    if (!st) return undefined;
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch {
      this.seen = '';
      return undefined;
    }
    if (text === this.text) return undefined;
    let value: unknown;
    try {
      value = parseJson(text);
    } catch {
      return undefined;
    }
    if (!this.valid(value)) return undefined;
    this.text = text;
    this.value = value;
    return value;
  }
}

export class RunFollower implements Disposable {
  private readonly eventsFile: string;
  private readonly runJson: JsonFile<RunRecord>;
  private readonly heartbeatJson: JsonFile<Heartbeat>;
  private readonly chunkBytes: number;
  private readonly maxLineBytes: number;
  /** Bytes of events.jsonl consumed: complete lines, and any over-long line being discarded. */
  private offset = 0;
  private fileId: string | undefined;
  private head = Buffer.alloc(0);
  /** Inside an over-long line: everything up to the next newline is dropped. */
  private discarding = false;
  /** The last byte dropped was NUL (crash padding): a valid event may start right after it. */
  private droppedNul = false;
  private skipped = 0;
  /** Size and finality at the last read: an unchanged file is not opened again. */
  private lastRead = '';
  private queue: Promise<unknown> = Promise.resolve();
  private readonly watches = new Set<Disposable>();

  constructor(
    readonly dir: string,
    opts: FollowerOptions = {},
  ) {
    this.eventsFile = path.join(dir, RUN_FILES.events);
    this.runJson = new JsonFile(path.join(dir, RUN_FILES.record), isRunRecord);
    this.heartbeatJson = new JsonFile(path.join(dir, RUN_FILES.heartbeat), isHeartbeat);
    this.maxLineBytes = Math.max(1024, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.chunkBytes = Math.max(64, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  }

  /** The newest valid run.json read so far. */
  get record(): RunRecord | undefined {
    return this.runJson.value;
  }

  /** The newest valid heartbeat.json read so far. */
  get heartbeat(): Heartbeat | undefined {
    return this.heartbeatJson.value;
  }

  /**
   * Reads everything new once. With a sink, events go to it chunk by chunk (a
   * history of any size is never held at once) and the update's `events` is empty.
   * Polls never overlap: a second call waits for the first.
   */
  poll(sink?: EventSink): Promise<FollowerUpdate> {
    const run = this.queue.then(() => this.pollOnce(sink));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Polls every `intervalMs` (the first time at once) and reports updates that
   * carry something. A poll starts only after the previous one and its
   * `onUpdate` finished; errors go to `onError` and polling goes on.
   */
  watch(intervalMs: number, onUpdate: (update: FollowerUpdate) => void | Promise<void>, onError?: (err: unknown) => void): Disposable {
    let timer: NodeJS.Timeout | undefined;
    let disposed = false;
    const tick = async () => {
      try {
        const update = await this.poll();
        if (!disposed && (update.events.length || update.reset || update.record || update.heartbeat)) await onUpdate(update);
      } catch (err) {
        if (!disposed) onError?.(err);
      }
      if (!disposed) timer = setTimeout(tick, intervalMs);
    };
    timer = setTimeout(tick, 0);
    const watch: Disposable = {
      dispose: () => {
        disposed = true;
        clearTimeout(timer);
        this.watches.delete(watch);
      },
    };
    this.watches.add(watch);
    return watch;
  }

  dispose(): void {
    for (const w of [...this.watches]) w.dispose();
  }

  private async pollOnce(sink?: EventSink): Promise<FollowerUpdate> {
    const record = await this.runJson.read();
    const heartbeat = await this.heartbeatJson.read();
    const { events, reset } = await this.readEvents(sink);
    const update: FollowerUpdate = { events, reset, skipped: this.skipped, offset: this.offset };
    if (record) update.record = record;
    if (heartbeat) update.heartbeat = heartbeat;
    return update;
  }

  /** A finished run gets no more lines: its last line is read even without a newline (a writer that died mid-line leaves garbage there). */
  private get finalTail(): boolean {
    const status = this.runJson.value?.status;
    return status !== undefined && !ACTIVE_STATUSES.has(status);
  }

  private restart(): void {
    this.offset = 0;
    this.head = Buffer.alloc(0);
    this.discarding = false;
    this.droppedNul = false;
    this.skipped = 0;
    this.lastRead = '';
  }

  private async readEvents(sink?: EventSink): Promise<{ events: TrainerEvent[]; reset: boolean }> {
    const st = await statOrUndefined(this.eventsFile);
    let reset = false;
    if (!st) {
      if (this.fileId !== undefined && this.offset > 0) reset = true;
      if (this.fileId !== undefined) this.restart();
      this.fileId = undefined;
      return this.deliver([], reset, sink);
    }
    const state = `${st.size}:${this.finalTail}`;
    if (identity(st) === this.fileId && st.size >= this.offset && state === this.lastRead) return { events: [], reset: false };
    const fh = await fs.open(this.eventsFile, 'r').catch(() => undefined);
    if (!fh) return { events: [], reset: false };
    try {
      const fst = await fh.stat();
      reset = await this.checkSameFile(fh, fst);
      const events: TrainerEvent[] = [];
      let pendingReset = reset;
      const flush = async () => {
        if (!sink || (!events.length && !pendingReset)) return;
        await sink(events.splice(0), pendingReset);
        pendingReset = false;
      };
      await this.readFrom(fh, fst.size, events, flush);
      await flush();
      this.lastRead = `${fst.size}:${this.finalTail}`;
      return { events, reset };
    } finally {
      await fh.close();
    }
  }

  private async deliver(events: TrainerEvent[], reset: boolean, sink?: EventSink): Promise<{ events: TrainerEvent[]; reset: boolean }> {
    if (sink && (events.length || reset)) {
      await sink(events, reset);
      return { events: [], reset };
    }
    return { events, reset };
  }

  /** Whether the open file is a different one, or shorter, or rewritten: then reading restarts at 0 and this returns true. */
  private async checkSameFile(fh: fs.FileHandle, st: Stats): Promise<boolean> {
    const id = identity(st);
    let changed = this.fileId !== undefined && (id !== this.fileId || st.size < this.offset);
    if (!changed && this.head.length) {
      const now = Buffer.alloc(this.head.length);
      const { bytesRead } = await fh.read(now, 0, now.length, 0);
      changed = bytesRead < now.length || !now.equals(this.head);
    }
    const reset = changed && (this.offset > 0 || this.skipped > 0);
    if (changed) this.restart();
    this.fileId = id;
    if (this.head.length < HEAD_BYTES && st.size > this.head.length) {
      const head = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      this.head = head.subarray(0, bytesRead);
    }
    return reset;
  }

  /** Reads from `this.offset` to `size` in chunks, parsing complete lines; `flush` hands each chunk's events on. */
  private async readFrom(fh: fs.FileHandle, size: number, events: TrainerEvent[], flush: () => Promise<void>): Promise<void> {
    let buf = Buffer.allocUnsafe(Math.max(1, Math.min(this.chunkBytes, size - this.offset)));
    let carry = 0;
    let pos = this.offset;
    while (pos < size) {
      if (carry === buf.length) {
        if (buf.length >= this.maxLineBytes) {
          this.skipped++;
          this.discarding = true;
          this.droppedNul = buf[carry - 1] === NUL;
          this.offset = pos;
          carry = 0;
        } else {
          const bigger = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, this.chunkBytes), this.maxLineBytes));
          buf.copy(bigger, 0, 0, carry);
          buf = bigger;
        }
      }
      const { bytesRead } = await fh.read(buf, carry, Math.min(buf.length - carry, size - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const view = buf.subarray(0, carry + bytesRead);
      let start = 0;
      if (this.discarding) {
        const nl = view.indexOf(NEWLINE);
        if (nl < 0) {
          this.droppedNul = view[view.length - 1] === NUL;
          this.offset = pos;
          carry = 0;
          continue;
        }
        this.recoverAfterGarbage(view.subarray(0, nl), events);
        this.discarding = false;
        start = nl + 1;
      }
      const last = view.lastIndexOf(NEWLINE);
      if (last >= start) {
        this.parseLines(view.toString('utf8', start, last), events);
        start = last + 1;
      }
      this.offset = pos - (view.length - start);
      carry = view.length - start;
      if (carry && start) buf.copyWithin(0, start, view.length);
      await flush();
    }
    if (carry && this.finalTail) this.takeTail(buf.subarray(0, carry), events);
  }

  private parseLines(text: string, events: TrainerEvent[]): void {
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      if (end > start) this.parseLine(text.slice(start, end), events);
      start = end + 1;
    }
  }

  private parseLine(line: string, events: TrainerEvent[]): void {
    const event = parseEventLine(line);
    if (event) {
      events.push(event);
      return;
    }
    if (!line.trim()) return;
    this.skipped++;
    // A crash can leave NUL bytes where a line was being written; a valid line may follow them.
    const nul = line.lastIndexOf('\0');
    const after = nul >= 0 ? parseEventLine(line.slice(nul + 1)) : undefined;
    if (after) events.push(after);
  }

  /** The end of a discarded over-long line: an event right after NUL padding still counts. */
  private recoverAfterGarbage(bytes: Buffer, events: TrainerEvent[]): void {
    const nul = bytes.lastIndexOf(NUL);
    if (nul < 0 && !this.droppedNul) return;
    const event = parseEventLine(bytes.toString('utf8', nul + 1));
    if (event) events.push(event);
  }

  /** The newline-less last line of a finished run: nothing will complete it, so it is an event or garbage now. */
  private takeTail(bytes: Buffer, events: TrainerEvent[]): void {
    if (this.discarding) return;
    this.parseLine(bytes.toString('utf8'), events);
    this.offset += bytes.length;
  }
}
