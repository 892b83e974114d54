// Shared by the integration suites: waiting for a condition, and answering the
// editor's dialogs (vscode.window functions replaced for one call sequence).

import * as vscode from 'vscode';
import type { Api } from '../../src/extension/main';

export const EXTENSION_ID = 'l2-softmax-lab.l2-softmax-lab';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** Replaces a vscode.window function until the returned restore function is called. */
export function stub<K extends keyof typeof vscode.window>(name: K, impl: (typeof vscode.window)[K]): () => void {
  const original = vscode.window[name];
  (vscode.window as unknown as Record<string, unknown>)[name] = impl;
  return () => ((vscode.window as unknown as Record<string, unknown>)[name] = original);
}

/** Runs `fn` with vscode.window functions replaced, restoring them afterwards. */
export async function withStubs<T>(stubs: Partial<{ [K in keyof typeof vscode.window]: (typeof vscode.window)[K] }>, fn: () => Promise<T>): Promise<T> {
  const restores = Object.entries(stubs).map(([name, impl]) => stub(name as keyof typeof vscode.window, impl as never));
  try {
    return await fn();
  } finally {
    restores.forEach((r) => r());
  }
}

export async function activate(): Promise<Api> {
  const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed`);
  return ext.activate();
}

/** The messages shown through one of the show*Message functions, with the actions offered. */
export interface Shown {
  message: string;
  items: string[];
}

/** A show*Message stand-in that records what it was asked to show and answers `answer`. */
export function recorder(shown: Shown[], answer?: string): (message: string, ...rest: unknown[]) => Promise<string | undefined> {
  return async (message: string, ...rest: unknown[]) => {
    shown.push({ message, items: rest.filter((r): r is string => typeof r === 'string') });
    return answer;
  };
}
