// A gate for the test proxies: while armed, each new request or connection is parked (its
// continuation kept) until release(), so the caller that sent it is known to be waiting inside its
// call for as long as the test wants.
export interface Gate {
  readonly armed: boolean;
  /** Parks every request or connection from now on until release(). */
  arm(): void;
  /** Keeps `go` until release(). */
  park(go: () => void): void;
  /** Resolves once something is parked. */
  held(): Promise<void>;
  /** Parked ones go on (their clients may be gone) and new ones are no longer parked. */
  release(): void;
  /** Parked so far. */
  readonly parkedCount: number;
}

export function createGate(): Gate {
  let armed = false;
  let parkedCount = 0;
  let parked: (() => void)[] = [];
  let onPark: (() => void) | undefined;
  return {
    get armed() {
      return armed;
    },
    get parkedCount() {
      return parkedCount;
    },
    arm: () => void (armed = true),
    park: (go) => {
      parkedCount++;
      parked.push(go);
      onPark?.();
    },
    held: () =>
      new Promise<void>((resolve) => {
        if (parked.length) return resolve();
        onPark = () => {
          onPark = undefined;
          resolve();
        };
      }),
    release: () => {
      armed = false;
      const waiting = parked;
      parked = [];
      for (const go of waiting) go();
    },
  };
}
