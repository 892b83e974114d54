import { strict as assert } from 'node:assert';
import { Rng } from '../../src/trainer/data/rng';
import { principalAxes, project2d } from '../../src/trainer/verify/projection';

/** `dim` random orthonormal vectors. */
function basis(dim: number, rng: Rng): Float64Array[] {
  const out: Float64Array[] = [];
  while (out.length < dim) {
    const v = Float64Array.from({ length: dim }, () => rng.normal());
    for (const u of out) {
      const dot = u.reduce((s, x, i) => s + x * v[i], 0);
      for (let i = 0; i < dim; i++) v[i] -= dot * u[i];
    }
    const length = Math.hypot(...v);
    out.push(v.map((x) => x / length));
  }
  return out;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i], 0);

describe('the 2-D picture of the feature space', () => {
  it('keeps the second principal axis orthogonal to the first when the top eigenvalues nearly tie', () => {
    const dim = 8;
    const u = basis(dim, new Rng(4));
    const variance = [1, 1 - 1e-9, 0.99, 0.98, 0.01, 0.01, 0.01, 0.01];
    // Rows ±sqrt(dim λ_k) u_k: mean 0, covariance Σ λ_k u_k u_kᵀ.
    const rows: number[] = [];
    for (let k = 0; k < dim; k++) for (const sign of [1, -1]) for (const x of u[k]) rows.push(sign * Math.sqrt(dim * variance[k]) * x);
    const e = { values: Float32Array.from(rows), dim, count: 2 * dim };
    const { first, second } = principalAxes(e);
    assert.ok(Math.abs(dot(first.vector, second.vector)) < 1e-6, `first · second = ${dot(first.vector, second.vector)}`);
    assert.ok(Math.abs(dot(second.vector, second.vector) - 1) < 1e-9);
    assert.ok(first.value > 0.97 && second.value > 0.97 && second.value <= first.value + 1e-6, `${first.value}, ${second.value}`);
    assert.equal(project2d(e).kind, 'pca');
  });
});
