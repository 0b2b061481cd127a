// How long things take: fast for tests, realistic (close to DigitalOcean's) for the demo.

export interface Timing {
  dropletCreateMs: number;
  actionMs: number;
}

export const FAST_TIMING: Timing = { dropletCreateMs: 300, actionMs: 150 };
export const REALISTIC_TIMING: Timing = { dropletCreateMs: 25_000, actionMs: 6_000 };
