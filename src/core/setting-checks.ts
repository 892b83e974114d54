// What is wrong with a setting's current value, for the Settings view (an icon
// and a tooltip line on the row) and for Start (which refuses errors and asks
// about warnings): a value its rule refuses, a dataset path that does not exist
// or is the wrong kind, and a scale below the paper's bound for the dataset.

import { statSync } from 'node:fs';
import * as path from 'node:path';
import { alphaLowerBound, getField, hasScaleS, scaleLowerBound, type LossKind, type RunConfig } from '../shared/config';
import { SETTINGS, checkSetting, type SettingSpec } from './settings';

/** Target probability of the alpha and s lower bounds (the paper's p = 0.9). */
export const BOUND_P = 0.9;

export interface SettingProblem {
  severity: 'error' | 'warning';
  message: string;
}

export type PathKind = 'file' | 'folder' | undefined;

/** What `p` (relative to `base`) names on disk. */
export function pathKindAt(p: string, base: string): PathKind {
  try {
    return statSync(path.resolve(base, p)).isDirectory() ? 'folder' : 'file';
  } catch {
    return undefined;
  }
}

export interface CheckContext {
  /** What a (possibly workspace-relative) path names, or undefined when nothing is there. */
  pathKind(p: string): PathKind;
  loss: LossKind;
  /** Training classes of the configured dataset, when known. */
  classes?: number;
}

/** The bound a head's scale must exceed for `classes` classes: alpha_low for L2-softmax, s_low for the cosine heads. */
export function scaleBoundFor(loss: LossKind, classes: number): { name: 'alpha' | 's'; low: number } | undefined {
  if (loss === 'l2-softmax') return { name: 'alpha', low: alphaLowerBound(classes, BOUND_P) };
  if (hasScaleS(loss)) return { name: 's', low: scaleLowerBound(classes, BOUND_P) };
  return undefined;
}

/** The dataset folder, pairs file and pairs images folder: paths a run reads (the host-only paths are checked where they are used). */
export function isDatasetPath(spec: SettingSpec): boolean {
  return (spec.kind === 'folder' || spec.kind === 'file') && !!spec.field?.startsWith('dataset.');
}

function pathProblem(spec: SettingSpec, value: string, ctx: CheckContext): SettingProblem | undefined {
  if (!value) return undefined;
  const kind = ctx.pathKind(value);
  if (!kind) return { severity: 'error', message: `${value} does not exist` };
  if (spec.kind === 'folder' && kind !== 'folder') return { severity: 'error', message: `${value} is a file, not a folder` };
  if (spec.kind === 'file' && kind !== 'file') return { severity: 'error', message: `${value} is a folder, not a file` };
  return undefined;
}

function boundProblem(spec: SettingSpec, value: number, ctx: CheckContext): SettingProblem | undefined {
  if (ctx.classes === undefined) return undefined;
  const bound = scaleBoundFor(ctx.loss, ctx.classes);
  const applies = (spec.key === 'alpha' && bound?.name === 'alpha') || (spec.key === 'scale' && bound?.name === 's');
  if (!bound || !applies || value >= bound.low) return undefined;
  return {
    severity: 'warning',
    message: `${bound.name} = ${value} is below ${bound.name}_low = ${bound.low.toFixed(2)} for ${ctx.classes} classes (p = ${BOUND_P}): training may underfit`,
  };
}

/** The problem with `value` for `spec`, errors before warnings; undefined when there is none. */
export function settingProblem(spec: SettingSpec, value: unknown, ctx: CheckContext): SettingProblem | undefined {
  if (value === undefined) return undefined;
  const reason = checkSetting(spec, value);
  if (reason) return { severity: 'error', message: reason };
  if (isDatasetPath(spec) && typeof value === 'string') return pathProblem(spec, value, ctx);
  if (typeof value === 'number') return boundProblem(spec, value, ctx);
  return undefined;
}

/** The first dataset path of `config` (folder, pairs file, pairs images) that a run could not read, with its setting. */
export function datasetPathProblem(config: RunConfig, base: string): { spec: SettingSpec; problem: SettingProblem } | undefined {
  for (const spec of SETTINGS.filter(isDatasetPath)) {
    const problem = settingProblem(spec, getField(config, spec.field as string), { loss: config.loss, pathKind: (p) => pathKindAt(p, base) });
    if (problem?.severity === 'error') return { spec, problem };
  }
  return undefined;
}
