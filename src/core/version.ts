// The version runs record, so a resume can tell when the trainer changed under a run.
// Bundles get package.json's version from esbuild's define; unbundled code (tsx tests) says "dev".

export const TRAINER_VERSION: string = process.env.L2SOFTMAX_VERSION ?? 'dev';
