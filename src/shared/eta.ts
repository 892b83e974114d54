// Time left in a run, estimated by its trainer and carried in its step events:
// the step time is a moving average over the last half minute of training (not
// the last 200 ms, which jumps with every hiccup and with the warm-up after a
// verification), and each remaining epoch adds its verification and checkpoint
// time, measured after the first epoch and estimated from the images to embed
// before that. The Runs view, the status bar and the dashboard all show it.

/** Time constant of the step-time average, in seconds: long enough to ride out hiccups, short enough to follow a real change. */
export const ETA_TIME_CONSTANT_S = 30;
/** Before the first verification is timed: embedding an image (forward only, no optimizer) costs about this fraction of training on it. */
const FORWARD_SHARE = 0.35;

export interface EtaWork {
  /** Images per training step. */
  batchSize: number;
  /** Images each verification embeds (verification pairs' images plus validation images). */
  verifyImages: number;
}

export class EtaEstimator {
  /** Exponentially decayed sums of the training seconds and steps seen: their ratio is the step time (a stall counts for its share of the time, not as one whole sample). */
  private time = 0;
  private steps = 0;
  private last?: { time: number; step: number };
  private verifySeconds?: number;

  constructor(private readonly work: EtaWork) {}

  /** Training reached global step `step` at `time` (ms). */
  step(time: number, step: number): void {
    const last = this.last;
    this.last = { time, step };
    if (!last || step <= last.step || time <= last.time) return;
    const dt = (time - last.time) / 1000;
    const keep = Math.exp(-dt / ETA_TIME_CONSTANT_S);
    this.time = keep * this.time + dt;
    this.steps = keep * this.steps + (step - last.step);
  }

  private get secondsPerStep(): number | undefined {
    return this.steps > 0 ? this.time / this.steps : undefined;
  }

  /** Training pauses (verification, a checkpoint): the next step starts a new interval instead of counting the pause as training. */
  pause(): void {
    this.last = undefined;
  }

  /** An epoch's verification and checkpoint took `seconds`. */
  verified(seconds: number): void {
    if (!(seconds >= 0)) return;
    this.verifySeconds = this.verifySeconds === undefined ? seconds : (this.verifySeconds + seconds) / 2;
  }

  /** Seconds left for `steps` more training steps and `verifications` more verifications; undefined until a step time is known. */
  seconds(steps: number, verifications: number): number | undefined {
    const perStep = this.secondsPerStep;
    if (perStep === undefined) return undefined;
    const verify = this.verifySeconds ?? (this.work.verifyImages * perStep * FORWARD_SHARE) / Math.max(1, this.work.batchSize);
    return Math.max(0, steps) * perStep + Math.max(0, verifications) * verify;
  }
}
