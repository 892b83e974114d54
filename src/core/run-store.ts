// Runs on disk: <root>/<id>/{run.json, events.jsonl, trainer.log, checkpoints/}.
// run.json is rewritten atomically (temp file + rename); events.jsonl is
// append-only and read back tolerating a truncated last line (a crash mid-write).

import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../shared/config';
import { parseEventLine, type TrainerEvent } from '../shared/events';
import { ACTIVE_STATUSES, type RunRecord } from '../shared/run';

export type { RunProgress, RunRecord, RunStatus } from '../shared/run';

export const ACTIVE = ACTIVE_STATUSES;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isRunId(id: string): boolean {
  return ID_PATTERN.test(id) && !id.includes('..');
}

export class RunStore {
  private readonly streams = new Map<string, WriteStream>();

  constructor(readonly root: string) {}

  /** The folder of run `id`; throws for ids that could address anything outside the runs folder. */
  dir(id: string): string {
    if (typeof id !== 'string' || !ID_PATTERN.test(id) || id.includes('..')) throw new Error(`invalid run id: ${JSON.stringify(id)}`);
    const dir = path.resolve(this.root, id);
    if (path.dirname(dir) !== path.resolve(this.root)) throw new Error(`invalid run id: ${JSON.stringify(id)}`);
    return dir;
  }

  file(id: string, name: 'run.json' | 'events.jsonl' | 'trainer.log' | 'config.json'): string {
    return path.join(this.dir(id), name);
  }

  newId(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
  }

  /** Creates a run folder; `id` picks the folder name (it may exist already, e.g. the CLI's --out). */
  async create(config: RunConfig, name: string, now = new Date(), id?: string): Promise<RunRecord> {
    if (id === undefined) {
      id = this.newId(now);
      while (await exists(this.dir(id))) id = this.newId(now);
    }
    await fs.mkdir(this.dir(id), { recursive: true, mode: 0o700 });
    const record: RunRecord = { id, name, status: 'queued', config, createdAt: now.toISOString() };
    await fs.writeFile(this.file(id, 'config.json'), JSON.stringify(config, null, 2));
    await this.save(record);
    return record;
  }

  async save(record: RunRecord): Promise<void> {
    const target = this.file(record.id, 'run.json');
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(record, null, 2));
    await fs.rename(tmp, target);
  }

  async get(id: string): Promise<RunRecord | undefined> {
    try {
      const record = JSON.parse(await fs.readFile(this.file(id, 'run.json'), 'utf8')) as RunRecord;
      return isRecord(record) && record.id === id ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every readable run, newest first; folders without a valid run.json are skipped. */
  /** Names in the runs folder that can be run ids (cheap: one directory read; `get` tells whether each holds a run). */
  async ids(): Promise<string[]> {
    try {
      return (await fs.readdir(this.root)).filter((n) => ID_PATTERN.test(n));
    } catch {
      return [];
    }
  }

  async list(): Promise<RunRecord[]> {
    const records = await Promise.all((await this.ids()).map((n) => this.get(n)));
    return records.filter((r): r is RunRecord => !!r).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  appendEvent(id: string, event: TrainerEvent): void {
    this.stream(id).write(JSON.stringify(event) + '\n');
  }

  private stream(id: string): WriteStream {
    let s = this.streams.get(id);
    if (!s) {
      s = createWriteStream(this.file(id, 'events.jsonl'), { flags: 'a' });
      s.on('error', () => undefined); // a deleted folder must not crash the host
      this.streams.set(id, s);
    }
    return s;
  }

  /** Resolves once every event appended so far is on disk. */
  async flushEvents(id: string): Promise<void> {
    const s = this.streams.get(id);
    if (s && !s.destroyed) await new Promise<void>((resolve) => s.write('', () => resolve()));
  }

  /** Flushes and closes the run's events file. */
  async closeEvents(id: string): Promise<void> {
    const s = this.streams.get(id);
    if (!s) return;
    this.streams.delete(id);
    await new Promise<void>((resolve) => s.end(() => resolve()));
  }

  async readEvents(id: string): Promise<TrainerEvent[]> {
    return (await this.readEventsFrom(id, 0)).events;
  }

  /**
   * Events from byte `offset` on, complete lines only; `end` is where the next
   * read should start (a line still being written is read next time).
   */
  async readEventsFrom(id: string, offset: number): Promise<{ events: TrainerEvent[]; end: number }> {
    let buf: Buffer;
    try {
      const h = await fs.open(this.file(id, 'events.jsonl'), 'r');
      try {
        const size = (await h.stat()).size;
        buf = Buffer.alloc(Math.max(0, size - offset));
        await h.read(buf, 0, buf.length, offset);
      } finally {
        await h.close();
      }
    } catch {
      return { events: [], end: offset };
    }
    const last = buf.lastIndexOf(0x0a);
    // A final line without a newline is only kept when it parses (a crash can truncate it).
    const tail = buf.subarray(last + 1).toString('utf8');
    const tailEvent = tail.trim() ? parseEventLine(tail) : undefined;
    const lines = buf.subarray(0, last + 1).toString('utf8').split('\n');
    const events: TrainerEvent[] = [];
    for (let i = 0; i < lines.length; i++) {
      const event = parseEventLine(lines[i]);
      if (event) events.push(event);
      // Yield now and then: a 100k-step history must not freeze the extension host.
      if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
    }
    if (tailEvent) events.push(tailEvent);
    return { events, end: offset + (tailEvent ? buf.length : last + 1) };
  }

  async rename(id: string, name: string): Promise<RunRecord> {
    const record = await this.require(id);
    record.name = name;
    await this.save(record);
    return record;
  }

  async delete(id: string): Promise<void> {
    const record = await this.get(id);
    if (record && ACTIVE.has(record.status) && isAlive(record.pid)) throw new Error(`run "${record.name}" is still running; stop it first`);
    await this.closeEvents(id);
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }

  /**
   * Runs left "running" or "queued" by a window that closed (their trainer is
   * gone) become "interrupted". Runs whose trainer still lives are left alone:
   * another window may own them.
   */
  async markInterrupted(owned: ReadonlySet<string> = new Set()): Promise<RunRecord[]> {
    const changed: RunRecord[] = [];
    for (const record of await this.list()) {
      if (!ACTIVE.has(record.status) || owned.has(record.id)) continue;
      if (record.status === 'running' && isAlive(record.pid)) continue;
      record.status = 'interrupted';
      record.reason = 'The editor window that ran this closed before the run finished.';
      record.code = 'interrupted';
      record.endedAt ??= new Date().toISOString();
      delete record.pid;
      await this.save(record);
      changed.push(record);
    }
    return changed;
  }

  private async require(id: string): Promise<RunRecord> {
    const record = await this.get(id);
    if (!record) throw new Error(`no run with id ${id}`);
    return record;
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.streams.keys()].map((id) => this.closeEvents(id)));
  }
}

function isRecord(value: unknown): value is RunRecord {
  const r = value as RunRecord;
  return typeof r === 'object' && r !== null && typeof r.id === 'string' && typeof r.name === 'string' && typeof r.status === 'string' && typeof r.createdAt === 'string' && typeof r.config === 'object';
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
