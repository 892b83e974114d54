// The event-body table in src/shared/events.ts: every event the trainer really
// wrote passes, and events with a missing or mistyped field do not, so no reader
// (host, webview, CLI) meets a step without a featureNorm.
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isTrainerEvent, parseEventLine, type TrainerEvent } from '../../src/shared/events';

const FIXTURES = path.resolve(__dirname, '../fixtures/events');

const fixtureLines = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.jsonl'))
  .flatMap((f) => readFileSync(path.join(FIXTURES, f), 'utf8').split('\n').filter((l) => l.trim()));

const fixtures = fixtureLines.map((l) => JSON.parse(l) as TrainerEvent);
const first = <T extends TrainerEvent['type']>(type: T) => structuredClone(fixtures.find((e) => e.type === type)) as Extract<TrainerEvent, { type: T }>;

const summary = { epochs: 1, steps: 10, seconds: 2, imagesPerSec: 100, finalLoss: null, alpha: null, bestEpoch: null, bestAccuracy: null, final: null };

/** Valid events of the types the fixtures lack. */
const extra: TrainerEvent[] = [
  { v: 1, time: 1, type: 'checkpoint', epoch: 1, path: '/runs/a/checkpoints/epoch-001' },
  { v: 1, time: 1, type: 'checkpoint', epoch: 2, path: 'x', step: 20, partial: true },
  { v: 1, time: 1, type: 'resumed', fromEpoch: 2, fromStep: 20, epochs: 5, resume: 1 },
  { v: 1, time: 1, type: 'warning', code: 'alpha-below-bound', message: 'alpha is low' },
  { v: 1, time: 1, type: 'error', code: 'dataset', message: 'no images' },
  { v: 1, time: 1, type: 'error', code: 'a-code-from-a-newer-trainer', message: 'still shown' } as unknown as TrainerEvent,
  { v: 1, time: 1, type: 'finished', status: 'failed', reason: 'no images', code: 'dataset', summary },
];

/** Sets `value` at a dotted path (array indices allowed) of a copy; `undefined` deletes. */
function mutate(event: TrainerEvent, at: string, value: unknown): unknown {
  const copy = structuredClone(event) as unknown as Record<string, unknown>;
  const keys = at.split('.');
  let o = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete o[last];
  else o[last] = value;
  return copy;
}

describe('event body validation', () => {
  it('accepts every event in the fixtures, and valid events of every other type', () => {
    assert.ok(fixtures.length > 50);
    for (const line of fixtureLines) assert.ok(parseEventLine(line), line.slice(0, 120));
    for (const e of extra) assert.ok(isTrainerEvent(e), JSON.stringify(e));
    const types = new Set([...fixtures, ...extra].map((e) => e.type));
    assert.deepEqual([...types].sort(), ['checkpoint', 'epoch', 'error', 'finished', 'log', 'resumed', 'started', 'step', 'warning']);
  });

  it('rejects the bare envelope that used to pass', () => {
    assert.equal(parseEventLine('{"v":1,"type":"step","time":1}'), undefined);
    for (const type of ['started', 'epoch', 'checkpoint', 'resumed', 'log', 'warning', 'error', 'finished']) assert.equal(isTrainerEvent({ v: 1, type, time: 1 }), false, type);
  });

  it('rejects a wrong envelope', () => {
    const step = first('step');
    for (const [at, value] of [
      ['v', 2],
      ['v', '1'],
      ['time', '1'],
      ['time', null],
      ['type', 'constructor'],
      ['type', 'toString'],
      ['type', '__proto__'],
      ['type', 'hasOwnProperty'],
      ['type', undefined],
    ] as const) {
      assert.equal(isTrainerEvent(mutate(step, at, value)), false, `${at} = ${String(value)}`);
    }
    for (const bad of [null, undefined, 1, 'step', [], [step]]) assert.equal(isTrainerEvent(bad), false);
  });

  const cases: [TrainerEvent['type'], string, unknown][] = [
    ['step', 'loss', undefined],
    ['step', 'loss', '0.5'],
    ['step', 'loss', null],
    ['step', 'step', 1.5],
    ['step', 'step', 1e300],
    ['step', 'epoch', '1'],
    ['step', 'alpha', undefined],
    ['step', 'alpha', '16'],
    ['step', 'featureNorm', undefined],
    ['step', 'featureNorm', [1, 2, 3]],
    ['step', 'featureNorm', null],
    ['step', 'featureNorm.mean', undefined],
    ['step', 'featureNorm.max', 'big'],
    ['step', 'imagesPerSec', Infinity],
    ['step', 'accuracy', NaN],
    ['epoch', 'verification', undefined],
    ['epoch', 'verification.accuracy', null],
    ['epoch', 'verification.accuracyStd', undefined],
    ['epoch', 'verification.auc', '0.9'],
    ['epoch', 'verification.eer', undefined],
    ['epoch', 'verification.threshold', null],
    ['epoch', 'verification.tarAtFar', undefined],
    ['epoch', 'verification.tarAtFar', {}],
    ['epoch', 'verification.tarAtFar.0.tar', undefined],
    ['epoch', 'verification.tarAtFar.0.threshold', 'x'],
    ['epoch', 'verification.roc', 'none'],
    ['epoch', 'verification.roc.3', null],
    ['epoch', 'verification.roc.3.far', '0.1'],
    ['epoch', 'featureNorm.min', undefined],
    ['epoch', 'trainLoss', null],
    ['epoch', 'validation', 'none'],
    ['epoch', 'validation', { accuracy: 0.5 }],
    ['started', 'backend', undefined],
    ['started', 'backend.gpu', 'false'],
    ['started', 'backend.description', 1],
    ['started', 'dataset', undefined],
    ['started', 'dataset.identities', '12'],
    ['started', 'dataset.imagesPerIdentity', undefined],
    ['started', 'dataset.skippedImages', 2],
    ['started', 'dataset.skippedImages', { count: 2 }],
    ['started', 'dataset.skippedImages', { count: '2', examples: [] }],
    ['started', 'dataset.skippedImages', { count: 2, examples: 'a.jpg' }],
    ['started', 'dataset.skippedImages', { count: 2, examples: [1] }],
    ['started', 'config', undefined],
    ['started', 'config', 'l2-softmax'],
    ['started', 'config', []],
    ['started', 'config', null],
    ['started', 'stepsPerEpoch', undefined],
    ['started', 'pid', '7645'],
    ['started', 'workers', '2'],
    ['log', 'message', undefined],
    ['log', 'message', { text: 'x' }],
    ['finished', 'status', 'exploded'],
    ['finished', 'summary', undefined],
    ['finished', 'summary.final', undefined],
    ['finished', 'summary.finalLoss', 'x'],
    ['finished', 'summary.steps', undefined],
    ['finished', 'reason', 5],
  ];

  for (const [type, at, value] of cases) {
    it(`rejects ${type} events with ${at} = ${value === undefined ? '(missing)' : JSON.stringify(value) ?? String(value)}`, () => {
      const e = first(type);
      assert.ok(isTrainerEvent(e), 'the unmutated fixture passes');
      assert.equal(isTrainerEvent(mutate(e, at, value)), false);
    });
  }

  it('rejects broken resumed, checkpoint, warning and error events', () => {
    const [checkpoint, , resumed, warning, error] = extra;
    for (const [e, at, value] of [
      [checkpoint, 'path', undefined],
      [checkpoint, 'epoch', '1'],
      [checkpoint, 'partial', 'yes'],
      [resumed, 'fromStep', undefined],
      [resumed, 'fromEpoch', null],
      [resumed, 'resume', 1.5],
      [warning, 'code', undefined],
      [error, 'message', null],
    ] as const) {
      assert.equal(isTrainerEvent(mutate(e, at, value)), false, `${e.type}.${at}`);
    }
  });

  it("checks a WebGPU backend's adapter: vendor, architecture, device, description, hardware", () => {
    const adapter = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7', hardware: false };
    const started = mutate(first('started'), 'backend.adapter', adapter) as TrainerEvent;
    assert.ok(isTrainerEvent(started));
    for (const [at, value] of [['hardware', 'no'], ['hardware', undefined], ['description', 3], ['vendor', undefined]] as const) {
      assert.equal(isTrainerEvent(mutate(started, `backend.adapter.${at}`, value)), false, `adapter.${at} = ${value}`);
    }
    assert.equal(isTrainerEvent(mutate(started, 'backend.adapter', 'lavapipe')), false);
  });

  it('accepts null where the types allow it, and extra fields', () => {
    const step = first('step');
    assert.ok(isTrainerEvent(mutate(step, 'alpha', null)));
    assert.ok(isTrainerEvent(mutate(step, 'somethingNew', { a: 1 })));
    const epoch = first('epoch');
    assert.ok(isTrainerEvent(mutate(epoch, 'validation', null)));
    assert.ok(isTrainerEvent(mutate(epoch, 'verification.tarAtFar.0.threshold', null)));
    assert.ok(isTrainerEvent(mutate(first('started'), 'dataset.skippedImages', { count: 2, examples: ['d/cut.jpg'] })));
    const finished = first('finished');
    assert.ok(isTrainerEvent(mutate(finished, 'summary.final', null)));
    assert.ok(isTrainerEvent(mutate(finished, 'summary.final', epoch.verification)));
  });

  it('never lets a parsed line reach Object.prototype', () => {
    const step = JSON.stringify(first('step'));
    const lines = [
      step.replace('{', '{"__proto__":{"polluted":1},'),
      step.replace('"featureNorm":{', '"featureNorm":{"__proto__":{"polluted":1},'),
      step.replace('{', '{"\\u005f_proto__":{"polluted":1},'),
      step.replace('{', '{"constructor":{"prototype":{"polluted":1}},'),
    ];
    for (const line of lines) {
      const e = parseEventLine(line);
      assert.ok(e, line.slice(0, 60));
      assert.equal(Object.prototype.hasOwnProperty.call(e, '__proto__'), false);
      assert.equal(Object.prototype.hasOwnProperty.call(e, 'constructor'), false);
      assert.equal(Object.prototype.hasOwnProperty.call((e as { featureNorm: object }).featureNorm, '__proto__'), false);
      const merged = Object.assign({}, e, (e as { featureNorm: object }).featureNorm);
      assert.equal((merged as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
    const raw = JSON.parse(lines[0]) as object;
    assert.equal(isTrainerEvent(raw), false, 'an object carrying an own __proto__ key is refused');
  });

  it('rejects lines that are not one JSON object', () => {
    for (const line of ['', '   ', 'null', '[]', '"step"', '{', '{"v":1', 'not json', '[{"v":1,"type":"log","time":1,"level":"info","message":"x"}]']) assert.equal(parseEventLine(line), undefined, line);
  });
});
