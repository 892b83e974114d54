// Procedural face renderer for the built-in synthetic face set.
//
// An identity is a fixed set of facial traits (head shape, skin tone, eyes,
// brows, nose, mouth, hair, beard, glasses). Each image of it varies the
// nuisance factors a face-verification model must ignore: pose (yaw, roll),
// scale, position, expression, illumination, background and sensor noise.
// A share of images is made deliberately hard (blur, low contrast, occlusion,
// heavy noise, low resolution): the low-quality samples that plain softmax
// tends to neglect (Ranjan et al. 2017, section 3).

import { DEGRADATIONS, type Degradation } from '../../shared/quality';
import { Rng } from './rng';

/** Bumped whenever what is drawn changes (for the same seeds): cached synthetic sets of another version are rendered again. */
export const FACE_GENERATOR_VERSION = 1;

type Rgb = [number, number, number];

export interface FaceIdentity {
  skin: Rgb;
  headW: number;
  headH: number;
  jaw: number;
  hair: Rgb;
  hairStyle: 0 | 1 | 2 | 3; // 0 short, 1 long, 2 bald, 3 fringe
  hairline: number;
  eyeSpacing: number;
  eyeY: number;
  eyeW: number;
  eyeH: number;
  iris: Rgb;
  browGap: number;
  browTilt: number;
  browThick: number;
  noseLen: number;
  noseW: number;
  mouthY: number;
  mouthW: number;
  mouthThick: number;
  smile: number;
  lip: Rgb;
  beard: number; // 0 = none, else density
  glasses: boolean;
  earSize: number;
  cheek: number;
}

const SKIN_TONES: Rgb[] = [
  [0.98, 0.84, 0.72],
  [0.93, 0.74, 0.6],
  [0.8, 0.6, 0.45],
  [0.64, 0.45, 0.32],
  [0.45, 0.3, 0.2],
  [0.3, 0.2, 0.14],
];
const HAIR_COLORS: Rgb[] = [
  [0.08, 0.06, 0.05],
  [0.25, 0.16, 0.09],
  [0.45, 0.3, 0.15],
  [0.8, 0.65, 0.35],
  [0.6, 0.25, 0.1],
  [0.65, 0.65, 0.65],
];
const IRIS_COLORS: Rgb[] = [
  [0.2, 0.12, 0.06],
  [0.25, 0.4, 0.6],
  [0.3, 0.45, 0.25],
  [0.1, 0.08, 0.06],
];

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function jitter(c: Rgb, rng: Rng, amount: number): Rgb {
  return [clamp01(c[0] + rng.normal() * amount), clamp01(c[1] + rng.normal() * amount), clamp01(c[2] + rng.normal() * amount)];
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

export function drawIdentity(rng: Rng): FaceIdentity {
  const tone = rng.uniform(0, SKIN_TONES.length - 1);
  const lo = Math.floor(tone);
  const skin = jitter(mix(SKIN_TONES[lo], SKIN_TONES[Math.min(lo + 1, SKIN_TONES.length - 1)], tone - lo), rng, 0.03);
  return {
    skin,
    headW: rng.uniform(0.5, 0.7),
    headH: rng.uniform(0.66, 0.86),
    jaw: rng.uniform(0, 0.45),
    hair: jitter(rng.pick(HAIR_COLORS), rng, 0.04),
    hairStyle: rng.pick([0, 0, 1, 1, 2, 3] as const),
    hairline: rng.uniform(0.25, 0.55),
    eyeSpacing: rng.uniform(0.18, 0.32),
    eyeY: rng.uniform(-0.14, 0.04),
    eyeW: rng.uniform(0.07, 0.12),
    eyeH: rng.uniform(0.035, 0.065),
    iris: jitter(rng.pick(IRIS_COLORS), rng, 0.03),
    browGap: rng.uniform(0.08, 0.16),
    browTilt: rng.uniform(-0.35, 0.35),
    browThick: rng.uniform(0.015, 0.045),
    noseLen: rng.uniform(0.14, 0.3),
    noseW: rng.uniform(0.05, 0.12),
    mouthY: rng.uniform(0.3, 0.48),
    mouthW: rng.uniform(0.12, 0.26),
    mouthThick: rng.uniform(0.025, 0.055),
    smile: rng.uniform(-0.3, 0.8),
    lip: jitter(mix(skin, [0.65, 0.25, 0.25], rng.uniform(0.3, 0.7)), rng, 0.03),
    beard: rng.next() < 0.25 ? rng.uniform(0.4, 0.9) : 0,
    glasses: rng.next() < 0.2,
    earSize: rng.uniform(0.06, 0.11),
    cheek: rng.uniform(0, 0.25),
  };
}

/** The degradations a hard image draws from; their order is part of what a seed renders. */
const HARD_KINDS: readonly Degradation[] = DEGRADATIONS;

export interface ViewOptions {
  size: number;
  channels: 1 | 3;
  /** Make this image deliberately low quality. */
  hard: boolean;
}

interface View {
  yaw: number;
  roll: number;
  scale: number;
  tx: number;
  ty: number;
  smile: number;
  eyeOpen: number;
  light: [number, number];
  lightStrength: number;
  ambient: number;
  background: Rgb;
  noise: number;
}

function drawView(rng: Rng): View {
  const angle = rng.uniform(0, Math.PI * 2);
  return {
    yaw: rng.uniform(-0.45, 0.45),
    roll: rng.uniform(-0.25, 0.25),
    scale: rng.uniform(0.85, 1.12),
    tx: rng.uniform(-0.08, 0.08),
    ty: rng.uniform(-0.08, 0.08),
    smile: rng.uniform(-0.35, 0.35),
    eyeOpen: rng.uniform(0.6, 1.15),
    light: [Math.cos(angle), Math.sin(angle)],
    lightStrength: rng.uniform(0, 0.45),
    ambient: rng.uniform(0.7, 1.15),
    background: [rng.next(), rng.next(), rng.next()],
    noise: rng.uniform(0.005, 0.03),
  };
}

// Soft coverage of a shape from its (approximate) signed distance d, with edge width w.
function cover(d: number, w: number): number {
  const t = 0.5 - d / w;
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}

function ellipseDist(u: number, v: number, a: number, b: number): number {
  return (Math.sqrt((u / a) ** 2 + (v / b) ** 2) - 1) * Math.min(a, b);
}

/** Renders one image of `id` as HWC floats in [0, 1]. */
export function renderFace(id: FaceIdentity, rng: Rng, opts: ViewOptions): Float32Array {
  const { size } = opts;
  const view = drawView(rng);
  const rgb = new Float32Array(size * size * 3);
  const ss = 2; // supersampling per axis
  const cosR = Math.cos(view.roll);
  const sinR = Math.sin(view.roll);
  const cosY = Math.cos(view.yaw);
  const shift = Math.sin(view.yaw) * 0.32;
  const edge = (2 / size / view.scale) * 1.2;
  const px: Rgb = [0, 0, 0];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const ix = ((x + (sx + 0.5) / ss) / size) * 2 - 1;
          const iy = ((y + (sy + 0.5) / ss) / size) * 2 - 1;
          const dx = (ix - view.tx) / view.scale;
          const dy = (iy - view.ty) / view.scale;
          const qx = cosR * dx + sinR * dy;
          const qy = -sinR * dx + cosR * dy;
          shade(id, view, qx / cosY, (qx - shift) / cosY, qy, edge, px);
          const light = view.ambient * (1 + view.lightStrength * (view.light[0] * ix + view.light[1] * iy));
          r += px[0] * light;
          g += px[1] * light;
          b += px[2] * light;
        }
      }
      const o = (y * size + x) * 3;
      const n = ss * ss;
      rgb[o] = r / n;
      rgb[o + 1] = g / n;
      rgb[o + 2] = b / n;
    }
  }
  addNoise(rgb, rng, view.noise);
  if (opts.hard) degrade(rgb, size, rng);
  for (let i = 0; i < rgb.length; i++) rgb[i] = clamp01(rgb[i]);
  if (opts.channels === 3) return rgb;
  const gray = new Float32Array(size * size);
  for (let i = 0; i < gray.length; i++) gray[i] = 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
  return gray;
}

function paint(px: Rgb, c: Rgb, alpha: number): void {
  if (alpha <= 0) return;
  px[0] += (c[0] - px[0]) * alpha;
  px[1] += (c[1] - px[1]) * alpha;
  px[2] += (c[2] - px[2]) * alpha;
}

/** Colour of the face at head coordinates (hu for the outline, fu for inner features, v vertical). */
function shade(id: FaceIdentity, view: View, hu: number, fu: number, v: number, w: number, px: Rgb): void {
  px[0] = view.background[0];
  px[1] = view.background[1];
  px[2] = view.background[2];
  const jawScale = v > 0 ? 1 - id.jaw * (v / id.headH) : 1;
  const headD = ellipseDist(hu / jawScale, v, id.headW, id.headH);
  // Long hair behind the head.
  if (id.hairStyle === 1) paint(px, id.hair, cover(ellipseDist(hu, v + 0.05, id.headW * 1.25, id.headH * 1.15), w));
  // Neck.
  if (v > 0.3) paint(px, mix(id.skin, [0, 0, 0], 0.15), cover(Math.abs(hu) - id.headW * 0.5, w));
  // Ears.
  for (const side of [-1, 1]) {
    paint(px, mix(id.skin, [0, 0, 0], 0.08), cover(ellipseDist(hu - side * id.headW, v + 0.02, id.earSize * 0.7, id.earSize * 1.3), w));
  }
  const inHead = cover(headD, w);
  paint(px, id.skin, inHead);
  if (inHead <= 0) return;
  // Cheeks.
  if (id.cheek > 0) {
    for (const side of [-1, 1]) {
      paint(px, [0.85, 0.4, 0.4], id.cheek * 0.5 * cover(ellipseDist(fu - side * id.eyeSpacing * 1.1, v - 0.15, 0.09, 0.06), w * 3));
    }
  }
  // Hair on top of the head.
  if (id.hairStyle !== 2) {
    const wave = id.hairStyle === 3 ? 0.05 * Math.sin(hu * 18) + 0.12 : 0;
    const line = -id.headH * id.hairline + wave + 0.06 * hu * hu;
    paint(px, id.hair, inHead * cover(v - line, w));
  }
  // Beard below the mouth line and along the jaw.
  if (id.beard > 0 && v > id.mouthY - 0.08) {
    const nearMouth = Math.abs(v - id.mouthY) < id.mouthThick * 1.2 && Math.abs(fu) < id.mouthW;
    if (!nearMouth) paint(px, id.hair, id.beard * inHead * cover(id.mouthY - 0.08 - v, w));
  }
  // Brows.
  for (const side of [-1, 1]) {
    const bx = fu - side * id.eyeSpacing;
    const by = v - (id.eyeY - id.browGap) - side * id.browTilt * bx;
    paint(px, mix(id.hair, [0, 0, 0], 0.3), cover(Math.max(Math.abs(by) - id.browThick, Math.abs(bx) - id.eyeW * 1.2), w));
  }
  // Eyes: white, iris, pupil.
  const eyeH = id.eyeH * view.eyeOpen;
  for (const side of [-1, 1]) {
    const ex = fu - side * id.eyeSpacing;
    const ey = v - id.eyeY;
    const inEye = cover(ellipseDist(ex, ey, id.eyeW, eyeH), w);
    paint(px, [0.95, 0.95, 0.93], inEye);
    paint(px, id.iris, inEye * cover(Math.hypot(ex, ey) - eyeH * 0.95, w));
    paint(px, [0.02, 0.02, 0.02], inEye * cover(Math.hypot(ex, ey) - eyeH * 0.4, w));
  }
  // Glasses.
  if (id.glasses) {
    const frame: Rgb = [0.1, 0.1, 0.12];
    for (const side of [-1, 1]) {
      const ring = Math.abs(Math.hypot(fu - side * id.eyeSpacing, v - id.eyeY) - id.eyeW * 1.6) - 0.012;
      paint(px, frame, cover(ring, w));
    }
    paint(px, frame, cover(Math.max(Math.abs(v - id.eyeY) - 0.012, Math.abs(fu) - id.eyeSpacing + id.eyeW * 1.6), w));
  }
  // Nose: a shaded ridge and nostrils.
  const noseTop = id.eyeY + 0.04;
  const noseBottom = noseTop + id.noseLen;
  if (v > noseTop && v < noseBottom + 0.03) {
    const t = (v - noseTop) / id.noseLen;
    const half = id.noseW * (0.35 + 0.65 * Math.min(t, 1));
    paint(px, mix(id.skin, [0, 0, 0], 0.22), 0.6 * cover(Math.abs(fu + 0.3 * half) - half * 0.45, w));
  }
  for (const side of [-1, 1]) {
    paint(px, mix(id.skin, [0, 0, 0], 0.55), cover(ellipseDist(fu - side * id.noseW * 0.5, v - noseBottom, id.noseW * 0.28, 0.018), w));
  }
  // Mouth: a curved band whose curvature changes with expression.
  const curve = (id.smile + view.smile) * 1.6;
  const my = v - (id.mouthY - curve * fu * fu);
  paint(px, id.lip, cover(Math.max(Math.abs(my) - id.mouthThick * 0.5, Math.abs(fu) - id.mouthW), w));
  paint(px, mix(id.lip, [0, 0, 0], 0.5), cover(Math.max(Math.abs(my) - 0.006, Math.abs(fu) - id.mouthW * 0.95), w));
}

function addNoise(img: Float32Array, rng: Rng, sigma: number): void {
  for (let i = 0; i < img.length; i++) img[i] += rng.normal() * sigma;
}

/** Moves `rng` past the draws addNoise takes for `values` values, without drawing them. */
function skipNoise(rng: Rng, values: number): void {
  rng.skip(2 * values);
}

/** A face's quality: 1 for a clean, well-lit, full-size face; hard faces score at most about 0.5. */
export interface FaceQuality {
  score: number;
  /** Bit i set: DEGRADATIONS[i] was applied. */
  degradations: number;
}

/** How much an ordinary view's noise, darkness and small scale (each from 0 to 1 over its range) take from 1. */
const VIEW_PENALTY = 0.3;
/** A degradation keeps 1 - severity of the quality; severity grows with its drawn strength over this range. */
const SEVERITY_MIN = 0.5;
const SEVERITY_SPREAD = 0.3;

function viewQuality(view: View): number {
  const noise = (view.noise - 0.005) / 0.025;
  const darkness = (1.15 - view.ambient) / 0.45;
  const smallness = (1.12 - view.scale) / 0.27;
  return 1 - (VIEW_PENALTY * (noise + darkness + smallness)) / 3;
}

/**
 * The quality of the face renderFace(id, rng, opts) draws, from the same random
 * draws without rendering it (the pixel noise is skipped in O(1)): a synthetic
 * set's qualities cost next to nothing even when its pixels come from a cache.
 */
export function faceQuality(rng: Rng, opts: ViewOptions): FaceQuality {
  const view = drawView(rng);
  skipNoise(rng, opts.size * opts.size * 3);
  const hard = opts.hard ? degrade(null, opts.size, rng) : { mask: 0, factor: 1 };
  return { score: viewQuality(view) * hard.factor, degradations: hard.mask };
}

/** One or two degradations, applied to `img` (or only drawn, for null); their mask and the share of quality they leave. */
function degrade(img: Float32Array | null, size: number, rng: Rng): { mask: number; factor: number } {
  const kinds = rng.shuffle([...HARD_KINDS]).slice(0, rng.next() < 0.3 ? 2 : 1);
  let mask = 0;
  let factor = 1;
  for (const kind of kinds) {
    mask |= 1 << HARD_KINDS.indexOf(kind);
    factor *= 1 - (SEVERITY_MIN + SEVERITY_SPREAD * applyDegradation(kind, img, size, rng));
  }
  return { mask, factor };
}

/** Draws a degradation's parameters, applies it when there is an image, and returns its strength from 0 to 1. */
function applyDegradation(kind: Degradation, img: Float32Array | null, size: number, rng: Rng): number {
  switch (kind) {
    case 'blur': {
      const spread = rng.uniform(1, 2.2);
      if (img) boxBlur(img, size, Math.max(1, Math.round((size / 32) * spread)), 2);
      return (spread - 1) / 1.2;
    }
    case 'low-light': {
      const k = rng.uniform(0.2, 0.4);
      const offset = rng.uniform(-0.2, 0.2);
      if (img) cutContrast(img, k, offset);
      return (0.4 - k) / 0.2;
    }
    case 'occlusion': {
      const w = Math.round(size * rng.uniform(0.4, 0.9));
      const h = Math.round(size * rng.uniform(0.2, 0.4));
      const x0 = rng.int(size - w + 1);
      const y0 = rng.int(size - h + 1);
      const c: Rgb = [rng.next(), rng.next(), rng.next()];
      if (img) fillRect(img, size, x0, y0, w, h, c);
      return clamp01(((w * h) / (size * size) - 0.08) / 0.28);
    }
    case 'noise': {
      const sigma = rng.uniform(0.12, 0.25);
      if (img) addNoise(img, rng, sigma);
      else skipNoise(rng, size * size * 3);
      return (sigma - 0.12) / 0.13;
    }
    case 'small-scale': {
      const f = rng.pick([3, 4]);
      if (img) pixelate(img, size, f);
      return f === 4 ? 1 : 0.5;
    }
  }
}

function cutContrast(img: Float32Array, k: number, offset: number): void {
  let mean = 0;
  for (let i = 0; i < img.length; i++) mean += img[i];
  mean /= img.length;
  for (let i = 0; i < img.length; i++) img[i] = mean + (img[i] - mean) * k + offset;
}

function fillRect(img: Float32Array, size: number, x0: number, y0: number, w: number, h: number, c: Rgb): void {
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const o = (y * size + x) * 3;
      img[o] = c[0];
      img[o + 1] = c[1];
      img[o + 2] = c[2];
    }
  }
}

/** Averages f x f blocks: the face at 1/f of the resolution, scaled back up. */
function pixelate(img: Float32Array, size: number, f: number): void {
  for (let y = 0; y < size; y += f) {
    for (let x = 0; x < size; x += f) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        let n = 0;
        for (let yy = y; yy < Math.min(y + f, size); yy++) {
          for (let xx = x; xx < Math.min(x + f, size); xx++, n++) sum += img[(yy * size + xx) * 3 + c];
        }
        for (let yy = y; yy < Math.min(y + f, size); yy++) {
          for (let xx = x; xx < Math.min(x + f, size); xx++) img[(yy * size + xx) * 3 + c] = sum / n;
        }
      }
    }
  }
}

function boxBlur(img: Float32Array, size: number, radius: number, passes: number): void {
  const tmp = new Float32Array(img.length);
  for (let p = 0; p < passes; p++) {
    for (const horizontal of [true, false]) {
      const src = horizontal ? img : tmp;
      const dst = horizontal ? tmp : img;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          for (let c = 0; c < 3; c++) {
            let sum = 0;
            let n = 0;
            for (let k = -radius; k <= radius; k++) {
              const xx = horizontal ? x + k : x;
              const yy = horizontal ? y : y + k;
              if (xx < 0 || yy < 0 || xx >= size || yy >= size) continue;
              sum += src[(yy * size + xx) * 3 + c];
              n++;
            }
            dst[(y * size + x) * 3 + c] = sum / n;
          }
        }
      }
    }
  }
}
