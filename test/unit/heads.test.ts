import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LossKind } from '../../src/shared/config';
import type { EpochEvent, EventBody } from '../../src/shared/events';
import { angularMargin } from '../../src/trainer/net/heads/arcface';
import { cosineMargin } from '../../src/trainer/net/heads/cosface';
import { marginLogits, normalizedCosine, type Margin } from '../../src/trainer/net/heads/cosine-head';
import { crossEntropy } from '../../src/trainer/net/heads/head';
import { buildNet } from '../../src/trainer/net/model';
import { train } from '../../src/trainer/train/run';
import * as tf from '../../src/trainer/tf';
import { tinyConfig } from '../fixtures/trainer';

// Fixed inputs: two features (d = 2) and three classes.
//   x_0 = (3, 4), x_1 = (1, 0)             -> x^_0 = (0.6, 0.8), x^_1 = (1, 0)
//   W columns (1, 0), (0, 2), (1, 1)        -> W^ = (1, 0), (0, 1), (1, 1)/sqrt(2)
//   cos = [[0.6, 0.8, 1.4/sqrt(2)], [1, 0, 1/sqrt(2)]],  labels y = (0, 2)
const X = [3, 4, 1, 0];
const W = [1, 0, 1, 0, 2, 1]; // [d = 2, C = 3], row-major
const Y = [0, 2];
const COS = [0.6, 0.8, 1.4 / Math.SQRT2, 1, 0, 1 / Math.SQRT2];
const S = 2;

/** phi and phi' of each margin, in plain numbers (the closed forms the heads must match). */
const REFERENCE: Record<string, { phi: (c: number) => number; slope: (c: number) => number }> = {
  normface: { phi: (c) => c, slope: () => 1 },
  cosface: { phi: (c) => c - 0.35, slope: () => 1 },
  arcface: {
    phi: (c) => (c > Math.cos(Math.PI - 0.5) ? Math.cos(Math.acos(c) + 0.5) : c - 0.5 * Math.sin(0.5)),
    slope: (c) => (c > Math.cos(Math.PI - 0.5) ? Math.cos(0.5) + (c * Math.sin(0.5)) / Math.sqrt(1 - c * c) : 1),
  },
};
const MARGINS: Record<string, Margin | undefined> = { normface: undefined, cosface: cosineMargin(0.35), arcface: angularMargin(0.5, false) };

/** Loss and its closed-form gradients (dL/dx, dL/dW, dL/ds) in plain numbers: softmax CE over z_j = s (cos_j or phi(cos_y)). */
function reference(head: string, x: number[], w: number[], s: number) {
  const { phi, slope } = REFERENCE[head];
  const n = 2;
  const [d, c] = [2, 3];
  const xn = [0, 1].map((i) => Math.hypot(x[2 * i], x[2 * i + 1]));
  const wn = [0, 1, 2].map((j) => Math.hypot(w[j], w[c + j]));
  const xu = x.map((v, k) => v / xn[Math.floor(k / d)]);
  const wu = w.map((v, k) => v / wn[k % c]);
  const cos = [0, 1].flatMap((i) => [0, 1, 2].map((j) => xu[2 * i] * wu[j] + xu[2 * i + 1] * wu[c + j]));
  let loss = 0;
  const dcos = new Array(n * c).fill(0);
  let ds = 0;
  for (let i = 0; i < n; i++) {
    const t = (j: number) => (j === Y[i] ? phi(cos[i * c + j]) : cos[i * c + j]);
    const z = [0, 1, 2].map((j) => s * t(j));
    const max = Math.max(...z);
    const sum = z.reduce((a, v) => a + Math.exp(v - max), 0);
    loss -= (z[Y[i]] - max - Math.log(sum)) / n;
    for (let j = 0; j < c; j++) {
      const dz = (Math.exp(z[j] - max) / sum - (j === Y[i] ? 1 : 0)) / n;
      dcos[i * c + j] = dz * s * (j === Y[i] ? slope(cos[i * c + j]) : 1);
      ds += dz * t(j);
    }
  }
  // NormFace eq. 4: project out the component along the normalized vector, divide by the norm.
  const dx = [0, 1].flatMap((i) => {
    const g = [0, 1].map((k) => [0, 1, 2].reduce((a, j) => a + dcos[i * c + j] * wu[k * c + j], 0));
    const along = g[0] * xu[2 * i] + g[1] * xu[2 * i + 1];
    return [0, 1].map((k) => (g[k] - xu[2 * i + k] * along) / xn[i]);
  });
  const dw = new Array(d * c).fill(0);
  for (let j = 0; j < c; j++) {
    const h = [0, 1].map((k) => [0, 1].reduce((a, i) => a + xu[2 * i + k] * dcos[i * c + j], 0));
    const along = h[0] * wu[j] + h[1] * wu[c + j];
    for (let k = 0; k < d; k++) dw[k * c + j] = (h[k] - wu[k * c + j] * along) / wn[j];
  }
  return { loss, cos, dx, dw, ds };
}

/** The heads' loss on the fixed inputs, through the trainer's own ops. */
function headLoss(head: string, x: tf.Tensor2D, w: tf.Tensor2D, s: tf.Scalar): tf.Scalar {
  const labels = tf.tensor1d(Y, 'int32');
  return crossEntropy(marginLogits(normalizedCosine(x, w), labels, s, MARGINS[head]), labels);
}

function gradients(head: string, x: number[], w: number[], s: number) {
  return tf.tidy(() => {
    const f = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => headLoss(head, a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Scalar));
    const { value, grads } = f([tf.tensor2d(x, [2, 2]), tf.tensor2d(w, [2, 3]), tf.scalar(s)]);
    return { loss: value.dataSync()[0], dx: Array.from(grads[0].dataSync()), dw: Array.from(grads[1].dataSync()), ds: grads[2].dataSync()[0] };
  });
}

function lossAt(head: string, x: number[], w: number[], s: number): number {
  return tf.tidy(() => headLoss(head, tf.tensor2d(x, [2, 2]), tf.tensor2d(w, [2, 3]), tf.scalar(s)).dataSync()[0]);
}

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('normalized-classifier heads (NormFace, CosFace, ArcFace)', () => {
  it('cosines of the fixed inputs are the hand-computed ones', () => {
    const cos = tf.tidy(() => Array.from(normalizedCosine(tf.tensor2d(X, [2, 2]), tf.tensor2d(W, [2, 3])).dataSync()));
    cos.forEach((v, k) => close(v, COS[k], 1e-6, `cos[${k}]`));
  });

  it('ArcFace margin: cos(theta + m) inside, the linear continuation past theta + m = pi, none where cos <= 0 with the easy margin', () => {
    const c = [0.6, -0.95, -0.3, 1];
    const hard = tf.tidy(() => Array.from(angularMargin(0.5, false)(tf.tensor2d(c, [1, 4])).dataSync()));
    const easy = tf.tidy(() => Array.from(angularMargin(0.5, true)(tf.tensor2d(c, [1, 4])).dataSync()));
    // 0.6 cos 0.5 - 0.8 sin 0.5 = 0.52655 - 0.38354; -0.95 < cos(pi - 0.5) = -0.87758: -0.95 - 0.5 sin 0.5.
    [0.143009, -0.95 - 0.5 * Math.sin(0.5), Math.cos(Math.acos(-0.3) + 0.5), Math.cos(0.5)].forEach((v, k) => close(hard[k], v, 1e-5, `phi(${c[k]})`));
    [0.143009, -0.95, -0.3, Math.cos(0.5)].forEach((v, k) => close(easy[k], v, 1e-5, `easy phi(${c[k]})`));
    const slope = tf.tidy(() => Array.from(tf.grad((t: tf.Tensor) => tf.sum(angularMargin(0.5, false)(t as tf.Tensor2D)))(tf.tensor2d(c, [1, 4])).dataSync()));
    close(slope[0], Math.cos(0.5) + (0.6 * Math.sin(0.5)) / 0.8, 1e-5, "phi'(0.6)");
    close(slope[1], 1, 1e-6, "phi'(-0.95)");
    assert.ok(Number.isFinite(slope[3]), `phi'(1) = ${slope[3]} must stay finite`);
  });

  for (const head of ['normface', 'cosface', 'arcface']) {
    it(`${head}: loss and gradients (x, W, s) equal the closed forms`, () => {
      const want = reference(head, X, W, S);
      const got = gradients(head, X, W, S);
      close(got.loss, want.loss, 1e-5, 'loss');
      got.dx.forEach((v, k) => close(v, want.dx[k], 1e-4, `dL/dx[${k}]`));
      got.dw.forEach((v, k) => close(v, want.dw[k], 1e-4, `dL/dW[${k}]`));
      close(got.ds, want.ds, 1e-4, 'dL/ds');
    });

    it(`${head}: gradients match central differences`, () => {
      const got = gradients(head, X, W, S);
      const h = 1e-2;
      const fd = (f: (e: number) => number) => (f(h) - f(-h)) / (2 * h);
      X.forEach((_, k) => close(got.dx[k], fd((e) => lossAt(head, X.map((v, i) => (i === k ? v + e : v)), W, S)), 2e-2, `dL/dx[${k}]`));
      W.forEach((_, k) => close(got.dw[k], fd((e) => lossAt(head, X, W.map((v, i) => (i === k ? v + e : v)), S)), 2e-2, `dL/dW[${k}]`));
      close(got.ds, fd((e) => lossAt(head, X, W, S + e)), 2e-2, 'dL/ds');
    });
  }

  it('CosFace loss on the fixed inputs by hand: z_0 = 2 (0.6 - 0.35, 0.8, 0.98995), z_1 = 2 (1, 0, 0.70711 - 0.35)', () => {
    const z0 = [0.5, 1.6, 2.8 / Math.SQRT2];
    const z1 = [2, 0, 2 / Math.SQRT2 - 0.7];
    const ce = (z: number[], y: number) => Math.log(z.reduce((a, v) => a + Math.exp(v), 0)) - z[y];
    close(gradients('cosface', X, W, S).loss, (ce(z0, 0) + ce(z1, 2)) / 2, 1e-5, 'loss');
  });

  it('a learned s is one trainable weight of the classifier; a fixed s adds none', async () => {
    const learned = buildNet(tinyConfig({ loss: 'normface', scaleTrainable: true, scale: 10 }), 8);
    const fixed = buildNet(tinyConfig({ loss: 'cosface', scale: 10 }), 8);
    assert.deepEqual(learned.train.trainableWeights.map((w) => w.originalName).filter((n) => n.startsWith('classifier')), ['classifier/kernel', 'classifier/scale']);
    assert.equal(learned.head.scaleVariable()?.originalName, 'classifier/scale');
    assert.deepEqual(fixed.train.trainableWeights.map((w) => w.originalName).filter((n) => n.startsWith('classifier')), ['classifier/kernel']);
    assert.equal(await fixed.head.scale(), 10);
    [learned, fixed].forEach((n) => n.train.dispose());
  });
});

describe('every head trains on the synthetic set', () => {
  let out: string;
  beforeEach(() => (out = mkdtempSync(path.join(tmpdir(), 'l2sm-heads-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  /** Scales for the 8-class tiny set: about twice s_low = 7/8 log(63) = 3.6, and alpha as the other tests use it. */
  const TINY: Record<LossKind, Record<string, unknown>> = {
    softmax: {},
    'l2-softmax': { alpha: 16 },
    normface: { scale: 8, scaleTrainable: true },
    cosface: { scale: 8, cosfaceMargin: 0.2 },
    arcface: { scale: 8, arcfaceMargin: 0.3 },
  };

  for (const [loss, params] of Object.entries(TINY)) {
    it(`${loss}: verification after the last epoch beats the first`, async () => {
      const events: EventBody[] = [];
      const status = await train({ config: tinyConfig({ loss, epochs: 5, ...params }), outDir: out, shouldStop: () => false, emit: (e) => events.push(e) });
      assert.equal(status, 'completed');
      const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
      const [first, last] = [epochs[0], epochs[epochs.length - 1]];
      assert.ok(last.trainLoss < first.trainLoss, `loss ${first.trainLoss} -> ${last.trainLoss}`);
      assert.ok(last.verification.auc > first.verification.auc, `AUC ${first.verification.auc} -> ${last.verification.auc}`);
      assert.ok(last.verification.accuracy > 0.6, `10-fold accuracy ${last.verification.accuracy}`);
    });
  }
});
