// Training kernels for the tfjs WebAssembly backend, in AssemblyScript with
// 128-bit SIMD. The module imports the backend's own memory, so every argument
// is a byte offset into the tensors tfjs already holds: no copies in or out.
// It must own no data or stack in that memory: no strings, arrays or objects, only
// numbers and pointers (esbuild.config.mjs refuses a build with a data section).
// Scratch space comes from tfjs, allocated by the caller (wasm-kernels.ts).
// Tensors are float32, NHWC.

// ---------------------------------------------------------------- filter gradient
// dW[ky,kx,ci,co] = sum over n, oy, ox of x[n, oy*sh - top + ky, ox*sw - left + kx, ci] * dy[n, oy, ox, co].
// One GEMM per filter tap (ky, kx) with the pixels as the long inner dimension.
// The pixels go in chunks of dy rows small enough to stay in cache while every
// tap and channel block passes over them; each block keeps its outputs (4 or 1
// input channels x 8 or 4 output channels) in registers across the chunk, so a
// pixel costs one load per input channel and one per four output channels.

const CHUNK_BYTES = 48 * 1024;

// The pixel walk shared by the blocks (wasm globals, not linear memory, which is
// tfjs's): dy rows per image, the tap's valid rows [vy0, vy1) and columns count,
// and byte strides of x and dy per image, row and column.
let outRows = 0, vy0 = 0, vy1 = 0, cols = 0;
let xImage: usize = 0, xRow: usize = 0, xCol: usize = 0, dImage: usize = 0, dRow: usize = 0, dCol: usize = 0;

// Valid output rows/columns for a tap: those whose input coordinate is inside.
@inline function firstValid(pad: i32, k: i32, stride: i32): i32 {
  const d = pad - k;
  return d <= 0 ? 0 : (d + stride - 1) / stride;
}

@inline function endValid(size: i32, pad: i32, k: i32, stride: i32, out: i32): i32 {
  const d = size - 1 + pad - k;
  if (d < 0) return 0;
  const e = d / stride + 1;
  return e < out ? e : out;
}

export function convFilterGrad(
  x: usize, dy: usize, dw: usize,
  n: i32, h: i32, w: i32, cin: i32,
  oh: i32, ow: i32, cout: i32,
  fh: i32, fw: i32, sh: i32, sw: i32, top: i32, left: i32,
): void {
  memory.fill(dw, 0, <usize>(fh * fw * cin * cout) << 2);
  outRows = oh;
  xImage = <usize>(h * w * cin) << 2;
  xRow = <usize>(sh * w * cin) << 2;
  xCol = <usize>(sw * cin) << 2;
  dImage = <usize>(oh * ow * cout) << 2;
  dRow = <usize>(ow * cout) << 2;
  dCol = <usize>cout << 2;
  const rowBytes = <i32>dRow + (fh + sh - 1) * <i32>xRow / sh;
  const chunk = max(1, CHUNK_BYTES / rowBytes);
  const total = n * oh;
  for (let g0 = 0; g0 < total; g0 += chunk) {
    const g1 = min(total, g0 + chunk);
    for (let ky = 0; ky < fh; ky++) {
      vy0 = firstValid(top, ky, sh);
      vy1 = endValid(h, top, ky, sh, oh);
      if (vy1 <= vy0) continue;
      for (let kx = 0; kx < fw; kx++) {
        const ox0 = firstValid(left, kx, sw);
        const ox1 = endValid(w, left, kx, sw, ow);
        if (ox1 <= ox0) continue;
        cols = ox1 - ox0;
        const tap = dw + (<usize>((ky * fw + kx) * cin * cout) << 2);
        // Byte offsets of x[0, vy0*sh - top + ky, ox0*sw - left + kx, 0] and dy[0, vy0, ox0, 0].
        const xs = x + (<usize>(((vy0 * sh - top + ky) * w + ox0 * sw - left + kx) * cin) << 2);
        const ds = dy + (<usize>((vy0 * ow + ox0) * cout) << 2);
        const outRow = <usize>cout << 2;
        let ci = 0;
        for (; ci + 4 <= cin; ci += 4) {
          let co = 0;
          for (; co + 8 <= cout; co += 8) block4x8(xs + (<usize>ci << 2), ds + (<usize>co << 2), tap + (<usize>(ci * cout + co) << 2), outRow, g0, g1);
          if (co < cout) block4x4(xs + (<usize>ci << 2), ds + (<usize>co << 2), tap + (<usize>(ci * cout + co) << 2), outRow, g0, g1);
        }
        if (cin - ci === 3) {
          // RGB input layers: all three channels in one pass over the pixels.
          let co = 0;
          for (; co + 8 <= cout; co += 8) block3x8(xs + (<usize>ci << 2), ds + (<usize>co << 2), tap + (<usize>(ci * cout + co) << 2), outRow, g0, g1);
          if (co < cout) for (let r = 0; r < 3; r++) block1x4(xs + (<usize>(ci + r) << 2), ds + (<usize>co << 2), tap + (<usize>((ci + r) * cout + co) << 2), g0, g1);
          ci = cin;
        }
        for (; ci < cin; ci++) {
          let co = 0;
          for (; co + 8 <= cout; co += 8) block1x8(xs + (<usize>ci << 2), ds + (<usize>co << 2), tap + (<usize>(ci * cout + co) << 2), g0, g1);
          if (co < cout) block1x4(xs + (<usize>ci << 2), ds + (<usize>co << 2), tap + (<usize>(ci * cout + co) << 2), g0, g1);
        }
      }
    }
  }
}

// Each block walks dy rows g0..g1 (image-major), skipping rows outside the tap's
// valid range; xs and ds point at the tap's first valid row of image 0.

function block4x8(xs: usize, ds: usize, out: usize, outRow: usize, g0: i32, g1: i32): void {
  const o1 = out + outRow, o2 = o1 + outRow, o3 = o2 + outRow;
  let a00 = v128.load(out), a01 = v128.load(out, 16), a10 = v128.load(o1), a11 = v128.load(o1, 16);
  let a20 = v128.load(o2), a21 = v128.load(o2, 16), a30 = v128.load(o3), a31 = v128.load(o3, 16);
  const oh = outRows, y0 = vy0, y1 = vy1, nc = cols, xi = xImage, xr = xRow, xc = xCol, di = dImage, dr = dRow, dc = dCol;
  let b = g0 / oh, oy = g0 % oh;
  for (let g = g0; g < g1; g++) {
    if (oy >= y0 && oy < y1) {
      let xp = xs + <usize>b * xi + <usize>(oy - y0) * xr;
      let dp = ds + <usize>b * di + <usize>(oy - y0) * dr;
      for (let c = 0; c < nc; c++) {
        const d0 = v128.load(dp);
        const d1 = v128.load(dp, 16);
        let s = v128.load32_splat(xp);
        a00 = f32x4.add(a00, f32x4.mul(s, d0));
        a01 = f32x4.add(a01, f32x4.mul(s, d1));
        s = v128.load32_splat(xp, 4);
        a10 = f32x4.add(a10, f32x4.mul(s, d0));
        a11 = f32x4.add(a11, f32x4.mul(s, d1));
        s = v128.load32_splat(xp, 8);
        a20 = f32x4.add(a20, f32x4.mul(s, d0));
        a21 = f32x4.add(a21, f32x4.mul(s, d1));
        s = v128.load32_splat(xp, 12);
        a30 = f32x4.add(a30, f32x4.mul(s, d0));
        a31 = f32x4.add(a31, f32x4.mul(s, d1));
        xp += xc;
        dp += dc;
      }
    }
    if (++oy === oh) {
      oy = 0;
      b++;
    }
  }
  v128.store(out, a00); v128.store(out, a01, 16);
  v128.store(o1, a10); v128.store(o1, a11, 16);
  v128.store(o2, a20); v128.store(o2, a21, 16);
  v128.store(o3, a30); v128.store(o3, a31, 16);
}

function block3x8(xs: usize, ds: usize, out: usize, outRow: usize, g0: i32, g1: i32): void {
  const o1 = out + outRow, o2 = o1 + outRow;
  let a00 = v128.load(out), a01 = v128.load(out, 16), a10 = v128.load(o1), a11 = v128.load(o1, 16);
  let a20 = v128.load(o2), a21 = v128.load(o2, 16);
  const oh = outRows, y0 = vy0, y1 = vy1, nc = cols, xi = xImage, xr = xRow, xc = xCol, di = dImage, dr = dRow, dc = dCol;
  let b = g0 / oh, oy = g0 % oh;
  for (let g = g0; g < g1; g++) {
    if (oy >= y0 && oy < y1) {
      let xp = xs + <usize>b * xi + <usize>(oy - y0) * xr;
      let dp = ds + <usize>b * di + <usize>(oy - y0) * dr;
      for (let c = 0; c < nc; c++) {
        const d0 = v128.load(dp);
        const d1 = v128.load(dp, 16);
        let s = v128.load32_splat(xp);
        a00 = f32x4.add(a00, f32x4.mul(s, d0));
        a01 = f32x4.add(a01, f32x4.mul(s, d1));
        s = v128.load32_splat(xp, 4);
        a10 = f32x4.add(a10, f32x4.mul(s, d0));
        a11 = f32x4.add(a11, f32x4.mul(s, d1));
        s = v128.load32_splat(xp, 8);
        a20 = f32x4.add(a20, f32x4.mul(s, d0));
        a21 = f32x4.add(a21, f32x4.mul(s, d1));
        xp += xc;
        dp += dc;
      }
    }
    if (++oy === oh) {
      oy = 0;
      b++;
    }
  }
  v128.store(out, a00); v128.store(out, a01, 16);
  v128.store(o1, a10); v128.store(o1, a11, 16);
  v128.store(o2, a20); v128.store(o2, a21, 16);
}

function block4x4(xs: usize, ds: usize, out: usize, outRow: usize, g0: i32, g1: i32): void {
  const o1 = out + outRow, o2 = o1 + outRow, o3 = o2 + outRow;
  let a0 = v128.load(out), a1 = v128.load(o1), a2 = v128.load(o2), a3 = v128.load(o3);
  const oh = outRows, y0 = vy0, y1 = vy1, nc = cols, xi = xImage, xr = xRow, xc = xCol, di = dImage, dr = dRow, dc = dCol;
  let b = g0 / oh, oy = g0 % oh;
  for (let g = g0; g < g1; g++) {
    if (oy >= y0 && oy < y1) {
      let xp = xs + <usize>b * xi + <usize>(oy - y0) * xr;
      let dp = ds + <usize>b * di + <usize>(oy - y0) * dr;
      for (let c = 0; c < nc; c++) {
        const d = v128.load(dp);
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(xp), d));
        a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(xp, 4), d));
        a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(xp, 8), d));
        a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(xp, 12), d));
        xp += xc;
        dp += dc;
      }
    }
    if (++oy === oh) {
      oy = 0;
      b++;
    }
  }
  v128.store(out, a0);
  v128.store(o1, a1);
  v128.store(o2, a2);
  v128.store(o3, a3);
}

function block1x8(xs: usize, ds: usize, out: usize, g0: i32, g1: i32): void {
  let a0 = v128.load(out), a1 = v128.load(out, 16);
  const oh = outRows, y0 = vy0, y1 = vy1, nc = cols, xi = xImage, xr = xRow, xc = xCol, di = dImage, dr = dRow, dc = dCol;
  let b = g0 / oh, oy = g0 % oh;
  for (let g = g0; g < g1; g++) {
    if (oy >= y0 && oy < y1) {
      let xp = xs + <usize>b * xi + <usize>(oy - y0) * xr;
      let dp = ds + <usize>b * di + <usize>(oy - y0) * dr;
      for (let c = 0; c < nc; c++) {
        const s = v128.load32_splat(xp);
        a0 = f32x4.add(a0, f32x4.mul(s, v128.load(dp)));
        a1 = f32x4.add(a1, f32x4.mul(s, v128.load(dp, 16)));
        xp += xc;
        dp += dc;
      }
    }
    if (++oy === oh) {
      oy = 0;
      b++;
    }
  }
  v128.store(out, a0);
  v128.store(out, a1, 16);
}

function block1x4(xs: usize, ds: usize, out: usize, g0: i32, g1: i32): void {
  let a = v128.load(out);
  const oh = outRows, y0 = vy0, y1 = vy1, nc = cols, xi = xImage, xr = xRow, xc = xCol, di = dImage, dr = dRow, dc = dCol;
  let b = g0 / oh, oy = g0 % oh;
  for (let g = g0; g < g1; g++) {
    if (oy >= y0 && oy < y1) {
      let xp = xs + <usize>b * xi + <usize>(oy - y0) * xr;
      let dp = ds + <usize>b * di + <usize>(oy - y0) * dr;
      for (let c = 0; c < nc; c++) {
        a = f32x4.add(a, f32x4.mul(v128.load32_splat(xp), v128.load(dp)));
        xp += xc;
        dp += dc;
      }
    }
    if (++oy === oh) {
      oy = 0;
      b++;
    }
  }
  v128.store(out, a);
}

// ---------------------------------------------------------------- convolution
// y[n,oy,ox,co] = sum over ky, kx, ci of xp[n, oy*s + ky, ox*s + kx, ci] * f[ky,kx,ci,co],
// xp being x already padded (padInput) to ph x pw. Blocks of 4 (or 1) output
// pixels along a row x 8 (or 4) output channels keep their sums in registers over
// the whole filter; per filter row (ky) the fw*cin inputs of a pixel are contiguous.
// Channels past the last multiple of 4 go one at a time.

// Shared by the blocks: filter row length (fw*cin), filter rows, byte strides of
// xp per image row and per output column, of f per filter row (ky), and of one output pixel.
let tapRow = 0, filterRows = 0;
let pRow: usize = 0, pCol: usize = 0, fRow: usize = 0, yCol: usize = 0;

export function conv2d(
  xp: usize, f: usize, y: usize,
  n: i32, ph: i32, pw: i32, cin: i32,
  oh: i32, ow: i32, cout: i32,
  fh: i32, fw: i32, sh: i32, sw: i32,
): void {
  tapRow = fw * cin;
  filterRows = fh;
  pRow = <usize>(pw * cin) << 2;
  pCol = <usize>(sw * cin) << 2;
  fRow = <usize>(fw * cin * cout) << 2;
  yCol = <usize>cout << 2;
  const fCh = <usize>cout << 2; // f stride per input (kx, ci)
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; ) {
      // Channel blocks of 8, then 4, then single channels.
      const width = co + 8 <= cout ? 8 : co + 4 <= cout ? 4 : 1;
      const fc = f + (<usize>co << 2);
      for (let oy = 0; oy < oh; oy++) {
        const xr = xp + (<usize>((b * ph + oy * sh) * pw * cin) << 2);
        const yr = y + (<usize>(((b * oh + oy) * ow) * cout + co) << 2);
        let ox = 0;
        if (width === 1) {
          for (; ox < ow; ox++) conv1x1(xr + <usize>ox * pCol, fc, yr + <usize>ox * yCol, fCh);
          continue;
        }
        for (; ox + 4 <= ow; ox += 4) {
          const xo = xr + <usize>ox * pCol;
          const yo = yr + <usize>ox * yCol;
          if (width === 8) conv4x8(xo, fc, yo, fCh);
          else conv4x4(xo, fc, yo, fCh);
        }
        for (; ox < ow; ox++) {
          const xo = xr + <usize>ox * pCol;
          const yo = yr + <usize>ox * yCol;
          if (width === 8) conv1x8(xo, fc, yo, fCh);
          else conv1x4(xo, fc, yo, fCh);
        }
      }
      co += width;
    }
  }
}

function conv4x8(x: usize, f: usize, y: usize, fCh: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  const k = tapRow, rows = filterRows, xr = pRow, xc = pCol, fr = fRow;
  for (let ky = 0; ky < rows; ky++) {
    let xp = x + <usize>ky * xr;
    let fp = f + <usize>ky * fr;
    for (let j = 0; j < k; j++) {
      const w0 = v128.load(fp);
      const w1 = v128.load(fp, 16);
      let s = v128.load32_splat(xp);
      a00 = f32x4.add(a00, f32x4.mul(s, w0));
      a01 = f32x4.add(a01, f32x4.mul(s, w1));
      s = v128.load32_splat(xp + xc);
      a10 = f32x4.add(a10, f32x4.mul(s, w0));
      a11 = f32x4.add(a11, f32x4.mul(s, w1));
      s = v128.load32_splat(xp + 2 * xc);
      a20 = f32x4.add(a20, f32x4.mul(s, w0));
      a21 = f32x4.add(a21, f32x4.mul(s, w1));
      s = v128.load32_splat(xp + 3 * xc);
      a30 = f32x4.add(a30, f32x4.mul(s, w0));
      a31 = f32x4.add(a31, f32x4.mul(s, w1));
      xp += 4;
      fp += fCh;
    }
  }
  const yc = yCol;
  v128.store(y, a00); v128.store(y, a01, 16);
  v128.store(y + yc, a10); v128.store(y + yc, a11, 16);
  v128.store(y + 2 * yc, a20); v128.store(y + 2 * yc, a21, 16);
  v128.store(y + 3 * yc, a30); v128.store(y + 3 * yc, a31, 16);
}

function conv4x4(x: usize, f: usize, y: usize, fCh: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const k = tapRow, rows = filterRows, xr = pRow, xc = pCol, fr = fRow;
  for (let ky = 0; ky < rows; ky++) {
    let xp = x + <usize>ky * xr;
    let fp = f + <usize>ky * fr;
    for (let j = 0; j < k; j++) {
      const w = v128.load(fp);
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(xp), w));
      a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(xp + xc), w));
      a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(xp + 2 * xc), w));
      a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(xp + 3 * xc), w));
      xp += 4;
      fp += fCh;
    }
  }
  const yc = yCol;
  v128.store(y, a0);
  v128.store(y + yc, a1);
  v128.store(y + 2 * yc, a2);
  v128.store(y + 3 * yc, a3);
}

function conv1x8(x: usize, f: usize, y: usize, fCh: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  const k = tapRow, rows = filterRows, xr = pRow, fr = fRow;
  for (let ky = 0; ky < rows; ky++) {
    let xp = x + <usize>ky * xr;
    let fp = f + <usize>ky * fr;
    for (let j = 0; j < k; j++) {
      const s = v128.load32_splat(xp);
      a0 = f32x4.add(a0, f32x4.mul(s, v128.load(fp)));
      a1 = f32x4.add(a1, f32x4.mul(s, v128.load(fp, 16)));
      xp += 4;
      fp += fCh;
    }
  }
  v128.store(y, a0);
  v128.store(y, a1, 16);
}

function conv1x4(x: usize, f: usize, y: usize, fCh: usize): void {
  let a = f32x4.splat(0);
  const k = tapRow, rows = filterRows, xr = pRow, fr = fRow;
  for (let ky = 0; ky < rows; ky++) {
    let xp = x + <usize>ky * xr;
    let fp = f + <usize>ky * fr;
    for (let j = 0; j < k; j++) {
      a = f32x4.add(a, f32x4.mul(v128.load32_splat(xp), v128.load(fp)));
      xp += 4;
      fp += fCh;
    }
  }
  v128.store(y, a);
}

function conv1x1(x: usize, f: usize, y: usize, fCh: usize): void {
  let a: f32 = 0;
  const k = tapRow, rows = filterRows, xr = pRow, fr = fRow;
  for (let ky = 0; ky < rows; ky++) {
    let xp = x + <usize>ky * xr;
    let fp = f + <usize>ky * fr;
    for (let j = 0; j < k; j++) {
      a += load<f32>(xp) * load<f32>(fp);
      xp += 4;
      fp += fCh;
    }
  }
  store<f32>(y, a);
}

// ---------------------------------------------------------------- Winograd F(2x2, 3x3)
// A 3x3 stride-1 convolution from 4x4 input tiles (stride 2) to 2x2 output tiles
// with 16 products per tile and channel pair instead of 36: V = B^T d B per input
// channel, M = V U per tile position (16 GEMMs over the channels, U = G g G^T the
// transformed filter), Y = A^T M A. Tiles go in chunks sized to stay in cache.

// U[xi][ci][co] for xi = 4 r + c, from f[ky, kx, ci, co] (3 x 3).
export function winogradFilter(f: usize, u: usize, cin: i32, cout: i32): void {
  const plane = <usize>(cin * cout) << 2;
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) {
      const at = <usize>(ci * cout + co) << 2;
      const g0 = load<f32>(f + at), g1 = load<f32>(f + plane + at), g2 = load<f32>(f + 2 * plane + at);
      const g3 = load<f32>(f + 3 * plane + at), g4 = load<f32>(f + 4 * plane + at), g5 = load<f32>(f + 5 * plane + at);
      const g6 = load<f32>(f + 6 * plane + at), g7 = load<f32>(f + 7 * plane + at), g8 = load<f32>(f + 8 * plane + at);
      // t = G g (rows: g row 0, half sums, half alternating sums, g row 2), 4 x 3.
      const t00 = g0, t01 = g1, t02 = g2;
      const t10 = (g0 + g3 + g6) * 0.5, t11 = (g1 + g4 + g7) * 0.5, t12 = (g2 + g5 + g8) * 0.5;
      const t20 = (g0 - g3 + g6) * 0.5, t21 = (g1 - g4 + g7) * 0.5, t22 = (g2 - g5 + g8) * 0.5;
      const t30 = g6, t31 = g7, t32 = g8;
      // U = t G^T, the same on each row.
      let o = u + at;
      store<f32>(o, t00); o += plane; store<f32>(o, (t00 + t01 + t02) * 0.5); o += plane; store<f32>(o, (t00 - t01 + t02) * 0.5); o += plane; store<f32>(o, t02); o += plane;
      store<f32>(o, t10); o += plane; store<f32>(o, (t10 + t11 + t12) * 0.5); o += plane; store<f32>(o, (t10 - t11 + t12) * 0.5); o += plane; store<f32>(o, t12); o += plane;
      store<f32>(o, t20); o += plane; store<f32>(o, (t20 + t21 + t22) * 0.5); o += plane; store<f32>(o, (t20 - t21 + t22) * 0.5); o += plane; store<f32>(o, t22); o += plane;
      store<f32>(o, t30); o += plane; store<f32>(o, (t30 + t31 + t32) * 0.5); o += plane; store<f32>(o, (t30 - t31 + t32) * 0.5); o += plane; store<f32>(o, t32);
    }
  }
}

// y = conv3x3(xp, f) at stride 1, xp padded to (oh + 2) x (ow + 2); oh, ow even; cin, cout multiples of 4.
// u: winogradFilter(f); v, m: scratch of 16 * chunk * cin and 16 * chunk * cout floats.
export function winogradConv(xp: usize, u: usize, y: usize, v: usize, m: usize, n: i32, cin: i32, oh: i32, ow: i32, cout: i32, chunk: i32): void {
  const pw = ow + 2, ph = oh + 2;
  const tw = ow >> 1, th = oh >> 1;
  const total = n * th * tw;
  const cinB = <usize>cin << 2, coutB = <usize>cout << 2;
  for (let t0 = 0; t0 < total; t0 += chunk) {
    const count = min(chunk, total - t0);
    const vPlane = <usize>count * cinB, mPlane = <usize>count * coutB;
    inputTiles(xp, v, t0, count, th, tw, ph, pw, cin);
    // M[xi] = V[xi] U[xi] for the 16 tile positions.
    for (let xi = 0; xi < 16; xi++) gemm(v + <usize>xi * vPlane, u + <usize>(xi * cin) * coutB, m + <usize>xi * mPlane, count, cin, cout);
    // Output transform: A^T M A.
    for (let t = 0; t < count; t++) {
      const y0 = y + <usize>tileCorner(t0 + t, th, tw, oh, ow) * coutB;
      const y1 = y0 + <usize>ow * coutB;
      const src = m + <usize>t * coutB;
      for (let c: usize = 0; c < coutB; c += 16) {
        let p = src + c;
        const m00 = v128.load(p); p += mPlane; const m01 = v128.load(p); p += mPlane; const m02 = v128.load(p); p += mPlane; const m03 = v128.load(p); p += mPlane;
        const m10 = v128.load(p); p += mPlane; const m11 = v128.load(p); p += mPlane; const m12 = v128.load(p); p += mPlane; const m13 = v128.load(p); p += mPlane;
        const m20 = v128.load(p); p += mPlane; const m21 = v128.load(p); p += mPlane; const m22 = v128.load(p); p += mPlane; const m23 = v128.load(p); p += mPlane;
        const m30 = v128.load(p); p += mPlane; const m31 = v128.load(p); p += mPlane; const m32 = v128.load(p); p += mPlane; const m33 = v128.load(p);
        // A^T m: rows m0 + m1 + m2, m1 - m2 - m3.
        const a0 = f32x4.add(f32x4.add(m00, m10), m20), a1 = f32x4.add(f32x4.add(m01, m11), m21), a2 = f32x4.add(f32x4.add(m02, m12), m22), a3 = f32x4.add(f32x4.add(m03, m13), m23);
        const b0 = f32x4.sub(f32x4.sub(m10, m20), m30), b1 = f32x4.sub(f32x4.sub(m11, m21), m31), b2 = f32x4.sub(f32x4.sub(m12, m22), m32), b3 = f32x4.sub(f32x4.sub(m13, m23), m33);
        v128.store(y0 + c, f32x4.add(f32x4.add(a0, a1), a2));
        v128.store(y0 + coutB + c, f32x4.sub(f32x4.sub(a1, a2), a3));
        v128.store(y1 + c, f32x4.add(f32x4.add(b0, b1), b2));
        v128.store(y1 + coutB + c, f32x4.sub(f32x4.sub(b1, b2), b3));
      }
    }
  }
}

// dW for a 3x3 stride-1 convolution by the same transform: with dM = A dY A^T per
// output tile, dU[xi] = sum over tiles of V[xi]^T dM[xi], and dW = G^T dU G.
// xp padded as for winogradConv; du: 16 * cin * cout scratch; v, m: as there.
export function winogradFilterGrad(xp: usize, dy: usize, dw: usize, v: usize, m: usize, du: usize, n: i32, cin: i32, oh: i32, ow: i32, cout: i32, chunk: i32): void {
  const pw = ow + 2, ph = oh + 2;
  const tw = ow >> 1, th = oh >> 1;
  const total = n * th * tw;
  const coutB = <usize>cout << 2;
  const plane = <usize>(cin * cout) << 2;
  memory.fill(du, 0, 16 * plane);
  for (let t0 = 0; t0 < total; t0 += chunk) {
    const count = min(chunk, total - t0);
    const vPlane = <usize>count * (<usize>cin << 2), mPlane = <usize>count * coutB;
    inputTiles(xp, v, t0, count, th, tw, ph, pw, cin);
    // dM = A dY A^T: a row (a, b) of dY becomes (a, a + b, a - b, -b), on rows then columns.
    for (let t = 0; t < count; t++) {
      const y0 = dy + <usize>tileCorner(t0 + t, th, tw, oh, ow) * coutB;
      const y1 = y0 + <usize>ow * coutB;
      for (let c: usize = 0; c < coutB; c += 16) {
        const a0 = v128.load(y0 + c), a1 = v128.load(y0 + coutB + c), b0 = v128.load(y1 + c), b1 = v128.load(y1 + coutB + c);
        // Rows of A dY (4 x 2).
        const r00 = a0, r01 = a1;
        const r10 = f32x4.add(a0, b0), r11 = f32x4.add(a1, b1);
        const r20 = f32x4.sub(a0, b0), r21 = f32x4.sub(a1, b1);
        const r30 = f32x4.neg(b0), r31 = f32x4.neg(b1);
        let o = m + <usize>t * coutB + c;
        v128.store(o, r00); o += mPlane; v128.store(o, f32x4.add(r00, r01)); o += mPlane; v128.store(o, f32x4.sub(r00, r01)); o += mPlane; v128.store(o, f32x4.neg(r01)); o += mPlane;
        v128.store(o, r10); o += mPlane; v128.store(o, f32x4.add(r10, r11)); o += mPlane; v128.store(o, f32x4.sub(r10, r11)); o += mPlane; v128.store(o, f32x4.neg(r11)); o += mPlane;
        v128.store(o, r20); o += mPlane; v128.store(o, f32x4.add(r20, r21)); o += mPlane; v128.store(o, f32x4.sub(r20, r21)); o += mPlane; v128.store(o, f32x4.neg(r21)); o += mPlane;
        v128.store(o, r30); o += mPlane; v128.store(o, f32x4.add(r30, r31)); o += mPlane; v128.store(o, f32x4.sub(r30, r31)); o += mPlane; v128.store(o, f32x4.neg(r31));
      }
    }
    // dU[xi] += V[xi]^T dM[xi]: the filter-gradient blocks over one "row" of count tiles.
    outRows = 1;
    vy0 = 0;
    vy1 = 1;
    cols = count;
    xImage = 0;
    xRow = 0;
    xCol = <usize>cin << 2;
    dImage = 0;
    dRow = 0;
    dCol = coutB;
    for (let xi = 0; xi < 16; xi++) {
      const vs = v + <usize>xi * vPlane, ms = m + <usize>xi * mPlane, us = du + <usize>xi * plane;
      for (let ci = 0; ci < cin; ci += 4) {
        let co = 0;
        for (; co + 8 <= cout; co += 8) block4x8(vs + (<usize>ci << 2), ms + (<usize>co << 2), us + (<usize>(ci * cout + co) << 2), coutB, 0, 1);
        if (co < cout) block4x4(vs + (<usize>ci << 2), ms + (<usize>co << 2), us + (<usize>(ci * cout + co) << 2), coutB, 0, 1);
      }
    }
  }
  // dW = G^T dU G: a row (a, b, c, d) becomes (a + (b + c)/2, (b - c)/2, (b + c)/2 + d), on rows then columns.
  for (let at: usize = 0; at < plane; at += 4) {
    let p = du + at;
    const u00 = load<f32>(p); p += plane; const u01 = load<f32>(p); p += plane; const u02 = load<f32>(p); p += plane; const u03 = load<f32>(p); p += plane;
    const u10 = load<f32>(p); p += plane; const u11 = load<f32>(p); p += plane; const u12 = load<f32>(p); p += plane; const u13 = load<f32>(p); p += plane;
    const u20 = load<f32>(p); p += plane; const u21 = load<f32>(p); p += plane; const u22 = load<f32>(p); p += plane; const u23 = load<f32>(p); p += plane;
    const u30 = load<f32>(p); p += plane; const u31 = load<f32>(p); p += plane; const u32 = load<f32>(p); p += plane; const u33 = load<f32>(p);
    // G^T dU (3 x 4).
    const s00 = u00 + (u10 + u20) * 0.5, s01 = u01 + (u11 + u21) * 0.5, s02 = u02 + (u12 + u22) * 0.5, s03 = u03 + (u13 + u23) * 0.5;
    const s10 = (u10 - u20) * 0.5, s11 = (u11 - u21) * 0.5, s12 = (u12 - u22) * 0.5, s13 = (u13 - u23) * 0.5;
    const s20 = (u10 + u20) * 0.5 + u30, s21 = (u11 + u21) * 0.5 + u31, s22 = (u12 + u22) * 0.5 + u32, s23 = (u13 + u23) * 0.5 + u33;
    let o = dw + at;
    store<f32>(o, s00 + (s01 + s02) * 0.5); o += plane; store<f32>(o, (s01 - s02) * 0.5); o += plane; store<f32>(o, (s01 + s02) * 0.5 + s03); o += plane;
    store<f32>(o, s10 + (s11 + s12) * 0.5); o += plane; store<f32>(o, (s11 - s12) * 0.5); o += plane; store<f32>(o, (s11 + s12) * 0.5 + s13); o += plane;
    store<f32>(o, s20 + (s21 + s22) * 0.5); o += plane; store<f32>(o, (s21 - s22) * 0.5); o += plane; store<f32>(o, (s21 + s22) * 0.5 + s23);
  }
}

// The pixel index of the top-left corner of tile number `tile` (image-major, th x tw
// tiles of 2x2 per image) in an image of rows x cols pixels.
@inline function tileCorner(tile: i32, th: i32, tw: i32, rows: i32, cols: i32): i32 {
  const b = tile / (th * tw), rest = tile % (th * tw);
  return (b * rows + 2 * (rest / tw)) * cols + 2 * (rest % tw);
}

// V[xi][t] = (B^T d B)[xi] for the 4x4 input tile d of tiles t0 .. t0 + count - 1, 4 channels at a time.
function inputTiles(xp: usize, v: usize, t0: i32, count: i32, th: i32, tw: i32, ph: i32, pw: i32, cin: i32): void {
  const cinB = <usize>cin << 2;
  const xRowB = <usize>pw * cinB;
  const vPlane = <usize>count * cinB;
  for (let t = 0; t < count; t++) {
    const base = xp + <usize>tileCorner(t0 + t, th, tw, ph, pw) * cinB;
    const out = v + <usize>t * cinB;
    for (let c: usize = 0; c < cinB; c += 16) {
      const p0 = base + c, p1 = p0 + xRowB, p2 = p1 + xRowB, p3 = p2 + xRowB;
      const d00 = v128.load(p0), d01 = v128.load(p0 + cinB), d02 = v128.load(p0 + 2 * cinB), d03 = v128.load(p0 + 3 * cinB);
      const d10 = v128.load(p1), d11 = v128.load(p1 + cinB), d12 = v128.load(p1 + 2 * cinB), d13 = v128.load(p1 + 3 * cinB);
      const d20 = v128.load(p2), d21 = v128.load(p2 + cinB), d22 = v128.load(p2 + 2 * cinB), d23 = v128.load(p2 + 3 * cinB);
      const d30 = v128.load(p3), d31 = v128.load(p3 + cinB), d32 = v128.load(p3 + 2 * cinB), d33 = v128.load(p3 + 3 * cinB);
      // B^T d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3.
      const s00 = f32x4.sub(d00, d20), s01 = f32x4.sub(d01, d21), s02 = f32x4.sub(d02, d22), s03 = f32x4.sub(d03, d23);
      const s10 = f32x4.add(d10, d20), s11 = f32x4.add(d11, d21), s12 = f32x4.add(d12, d22), s13 = f32x4.add(d13, d23);
      const s20 = f32x4.sub(d20, d10), s21 = f32x4.sub(d21, d11), s22 = f32x4.sub(d22, d12), s23 = f32x4.sub(d23, d13);
      const s30 = f32x4.sub(d10, d30), s31 = f32x4.sub(d11, d31), s32 = f32x4.sub(d12, d32), s33 = f32x4.sub(d13, d33);
      // (B^T d) B: the same on columns.
      let o = out + c;
      v128.store(o, f32x4.sub(s00, s02)); o += vPlane; v128.store(o, f32x4.add(s01, s02)); o += vPlane; v128.store(o, f32x4.sub(s02, s01)); o += vPlane; v128.store(o, f32x4.sub(s01, s03)); o += vPlane;
      v128.store(o, f32x4.sub(s10, s12)); o += vPlane; v128.store(o, f32x4.add(s11, s12)); o += vPlane; v128.store(o, f32x4.sub(s12, s11)); o += vPlane; v128.store(o, f32x4.sub(s11, s13)); o += vPlane;
      v128.store(o, f32x4.sub(s20, s22)); o += vPlane; v128.store(o, f32x4.add(s21, s22)); o += vPlane; v128.store(o, f32x4.sub(s22, s21)); o += vPlane; v128.store(o, f32x4.sub(s21, s23)); o += vPlane;
      v128.store(o, f32x4.sub(s30, s32)); o += vPlane; v128.store(o, f32x4.add(s31, s32)); o += vPlane; v128.store(o, f32x4.sub(s32, s31)); o += vPlane; v128.store(o, f32x4.sub(s31, s33));
    }
  }
}

// c = a b for row-major a (rows x k) and b (k x cols): the dense layers.
export function matmul(a: usize, b: usize, c: usize, rows: i32, k: i32, cols: i32): void {
  gemm(a, b, c, rows, k, cols);
}

// dst (cols x rows) = src (rows x cols) transposed, in 8 x 8 blocks.
export function transpose(src: usize, dst: usize, rows: i32, cols: i32): void {
  for (let r0 = 0; r0 < rows; r0 += 8) {
    const r1 = min(rows, r0 + 8);
    for (let c0 = 0; c0 < cols; c0 += 8) {
      const c1 = min(cols, c0 + 8);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) store<f32>(dst + (<usize>(c * rows + r) << 2), load<f32>(src + (<usize>(r * cols + c) << 2)));
      }
    }
  }
}

// c[rows x cols] = a[rows x k] b[k x cols] (row-major), on the convolution blocks.
function gemm(a: usize, b: usize, c: usize, rows: i32, k: i32, cols: i32): void {
  tapRow = k;
  filterRows = 1;
  pCol = <usize>k << 2;
  yCol = <usize>cols << 2;
  const bRow = <usize>cols << 2;
  for (let co = 0; co < cols; ) {
    const width = co + 8 <= cols ? 8 : co + 4 <= cols ? 4 : 1;
    const bc = b + (<usize>co << 2);
    let r = 0;
    for (; r + 4 <= rows && width > 1; r += 4) {
      const ar = a + <usize>r * pCol;
      const cr = c + <usize>r * yCol + (<usize>co << 2);
      if (width === 8) conv4x8(ar, bc, cr, bRow);
      else conv4x4(ar, bc, cr, bRow);
    }
    for (; r < rows; r++) {
      const ar = a + <usize>r * pCol;
      const cr = c + <usize>r * yCol + (<usize>co << 2);
      if (width === 8) conv1x8(ar, bc, cr, bRow);
      else if (width === 4) conv1x4(ar, bc, cr, bRow);
      else conv1x1(ar, bc, cr, bRow);
    }
    co += width;
  }
}

// xp[n, py, px, :] = x[n, py - top, px - left, :], zero outside x; xp is n x ph x pw x c.
export function padInput(x: usize, xp: usize, n: i32, h: i32, w: i32, c: i32, ph: i32, pw: i32, top: i32, left: i32): void {
  const pixel = <usize>c << 2;
  // Columns of x that land inside xp, and where.
  const c0 = max(0, left), c1 = min(pw, w + left);
  for (let b = 0; b < n; b++) {
    for (let py = 0; py < ph; py++) {
      const row = xp + <usize>((b * ph + py) * pw) * pixel;
      const iy = py - top;
      if (iy < 0 || iy >= h || c1 <= c0) {
        memory.fill(row, 0, <usize>pw * pixel);
        continue;
      }
      if (c0 > 0) memory.fill(row, 0, <usize>c0 * pixel);
      memory.copy(row + <usize>c0 * pixel, x + <usize>((b * h + iy) * w + c0 - left) * pixel, <usize>(c1 - c0) * pixel);
      if (c1 < pw) memory.fill(row + <usize>c1 * pixel, 0, <usize>(pw - c1) * pixel);
    }
  }
}

// g[ky,kx,co,ci] = f[fh-1-ky, fw-1-kx, ci, co]: the filter of the input gradient (a correlation of the padded dy).
export function flipFilter(f: usize, g: usize, fh: i32, fw: i32, cin: i32, cout: i32): void {
  for (let ky = 0; ky < fh; ky++) {
    for (let kx = 0; kx < fw; kx++) {
      const src = f + (<usize>(((fh - 1 - ky) * fw + fw - 1 - kx) * cin * cout) << 2);
      const dst = g + (<usize>((ky * fw + kx) * cout * cin) << 2);
      for (let ci = 0; ci < cin; ci++) {
        for (let co = 0; co < cout; co++) {
          store<f32>(dst + (<usize>(co * cin + ci) << 2), load<f32>(src + (<usize>(ci * cout + co) << 2)));
        }
      }
    }
  }
}

// ---------------------------------------------------------------- column sums
// out[c] = sum over r of a[r, c]: the bias gradient (Sum over every axis but the last).
export function columnSum(a: usize, out: usize, rows: i32, cols: i32): void {
  let c = 0;
  for (; c + 16 <= cols; c += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = a + (<usize>c << 2);
    const step = <usize>cols << 2;
    for (let r = 0; r < rows; r++) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32));
      s3 = f32x4.add(s3, v128.load(p, 48));
      p += step;
    }
    const o = out + (<usize>c << 2);
    v128.store(o, s0); v128.store(o, s1, 16); v128.store(o, s2, 32); v128.store(o, s3, 48);
  }
  for (; c + 4 <= cols; c += 4) {
    let s = f32x4.splat(0);
    let p = a + (<usize>c << 2);
    for (let r = 0; r < rows; r++) {
      s = f32x4.add(s, v128.load(p));
      p += <usize>cols << 2;
    }
    v128.store(out + (<usize>c << 2), s);
  }
  for (; c < cols; c++) {
    let s: f32 = 0;
    let p = a + (<usize>c << 2);
    for (let r = 0; r < rows; r++) {
      s += load<f32>(p);
      p += <usize>cols << 2;
    }
    store<f32>(out + (<usize>c << 2), s);
  }
}

// ---------------------------------------------------------------- max-pool gradient
// 2x2 windows at stride 2 tiling x exactly: each upstream gradient goes to the
// first maximum of its window in row-major order (the cpu backend's choice);
// every other input gets zero. c % 4 == 0.
export function maxPool2x2Grad(x: usize, dy: usize, dx: usize, n: i32, oh: i32, ow: i32, c: i32): void {
  const pixel = <usize>c << 2;
  const row = <usize>(2 * ow) * pixel;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const line = <usize>(b * 2 * oh + 2 * r) * row;
      let g = dy + <usize>((b * oh + r) * ow) * pixel;
      for (let q = 0; q < ow; q++) {
        const p00 = line + <usize>(2 * q) * pixel;
        for (let k: usize = 0; k < pixel; k += 16) {
          const v00 = v128.load(x + p00 + k);
          const v01 = v128.load(x + p00 + pixel + k);
          const v10 = v128.load(x + p00 + row + k);
          const v11 = v128.load(x + p00 + row + pixel + k);
          const c1 = f32x4.gt(v01, v00);
          let best = v128.bitselect(v01, v00, c1);
          const c2 = f32x4.gt(v10, best);
          best = v128.bitselect(v10, best, c2);
          const c3 = f32x4.gt(v11, best);
          const gv = v128.load(g + k);
          const w11 = c3;
          const w10 = v128.andnot(c2, c3);
          const w01 = v128.andnot(v128.andnot(c1, c2), c3);
          const w00 = v128.not(v128.or(v128.or(c1, c2), c3));
          v128.store(dx + p00 + k, v128.and(gv, w00));
          v128.store(dx + p00 + pixel + k, v128.and(gv, w01));
          v128.store(dx + p00 + row + k, v128.and(gv, w10));
          v128.store(dx + p00 + row + pixel + k, v128.and(gv, w11));
        }
        g += pixel;
      }
    }
  }
}

// 2x2 max-pool at stride 2 tiling x exactly; c % 4 == 0.
export function maxPool2x2(x: usize, y: usize, n: i32, oh: i32, ow: i32, c: i32): void {
  const pixel = <usize>c << 2;
  const row = <usize>(2 * ow) * pixel;
  let out = y;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const line = x + <usize>(b * 2 * oh + 2 * r) * row;
      for (let q = 0; q < ow; q++) {
        const p00 = line + <usize>(2 * q) * pixel;
        for (let k: usize = 0; k < pixel; k += 16) {
          const top = f32x4.max(v128.load(p00 + k), v128.load(p00 + pixel + k));
          const bottom = f32x4.max(v128.load(p00 + row + k), v128.load(p00 + row + pixel + k));
          v128.store(out + k, f32x4.max(top, bottom));
        }
        out += pixel;
      }
    }
  }
}

// ---------------------------------------------------------------- elementwise
// out[r, c] = a[r, c] + bias[c] (out may be a).
export function addBias(a: usize, bias: usize, out: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    let k: usize = 0;
    for (; k + 16 <= rowBytes; k += 16) v128.store(out + k, f32x4.add(v128.load(a + k), v128.load(bias + k)));
    for (; k < rowBytes; k += 4) store<f32>(out + k, load<f32>(a + k) + load<f32>(bias + k));
    a += rowBytes;
    out += rowBytes;
  }
}

// out = max(a, 0), NaN kept.
export function relu(a: usize, out: usize, size: i32): void {
  const zero = f32x4.splat(0);
  const bytes = <usize>size << 2;
  let k: usize = 0;
  for (; k + 16 <= bytes; k += 16) v128.store(out + k, f32x4.max(v128.load(a + k), zero));
  for (; k < bytes; k += 4) {
    const v = load<f32>(a + k);
    store<f32>(out + k, v < 0 ? 0 : v);
  }
}

// out = dy * (x > 0 ? 1 : 0): the ReLU gradient in one pass (tfjs: dy * cast(step(x))).
export function reluGrad(dy: usize, x: usize, out: usize, size: i32): void {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const bytes = <usize>size << 2;
  let k: usize = 0;
  for (; k + 16 <= bytes; k += 16) {
    v128.store(out + k, f32x4.mul(v128.load(dy + k), v128.and(f32x4.gt(v128.load(x + k), zero), one)));
  }
  for (; k < bytes; k += 4) store<f32>(out + k, load<f32>(dy + k) * (load<f32>(x + k) > 0 ? <f32>1 : <f32>0));
}

// ---------------------------------------------------------------- optimizer
// One Adam step for one variable (tfjs's formulas, fused): m' = b1 m + (1 - b1) g,
// v' = b2 v + (1 - b2) g^2, w' = w - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps),
// with acc1 = b1^t and acc2 = b2^t.
export function adam(
  w: usize, m: usize, v: usize, g: usize, w2: usize, m2: usize, v2: usize, size: i32,
  b1: f32, b2: f32, eps: f32, lr: f32, acc1: f32, acc2: f32,
): void {
  const vb1 = f32x4.splat(b1), vc1 = f32x4.splat(1 - b1), vb2 = f32x4.splat(b2), vc2 = f32x4.splat(1 - b2);
  const vd1 = f32x4.splat(1 - acc1), vd2 = f32x4.splat(1 - acc2), veps = f32x4.splat(eps), vlr = f32x4.splat(-lr);
  const bytes = <usize>size << 2;
  let k: usize = 0;
  for (; k + 16 <= bytes; k += 16) {
    const gk = v128.load(g + k);
    const mk = f32x4.add(f32x4.mul(v128.load(m + k), vb1), f32x4.mul(gk, vc1));
    const vk = f32x4.add(f32x4.mul(v128.load(v + k), vb2), f32x4.mul(f32x4.mul(gk, gk), vc2));
    const step = f32x4.div(f32x4.div(mk, vd1), f32x4.add(f32x4.sqrt(f32x4.div(vk, vd2)), veps));
    v128.store(m2 + k, mk);
    v128.store(v2 + k, vk);
    v128.store(w2 + k, f32x4.add(f32x4.mul(step, vlr), v128.load(w + k)));
  }
  for (; k < bytes; k += 4) {
    const gk = load<f32>(g + k);
    const mk = load<f32>(m + k) * b1 + gk * (1 - b1);
    const vk = load<f32>(v + k) * b2 + gk * gk * (1 - b2);
    store<f32>(m2 + k, mk);
    store<f32>(v2 + k, vk);
    store<f32>(w2 + k, (mk / (1 - acc1)) / (sqrt<f32>(vk / (1 - acc2)) + eps) * -lr + load<f32>(w + k));
  }
}
