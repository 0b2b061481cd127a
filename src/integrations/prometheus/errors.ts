// What can go wrong asking Prometheus, each named, so a measurement's error says which it was.
// All of them make a measurement an `error` (counted against consecutiveErrorLimit), never a verdict.

export class PrometheusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Nothing answered at the address (refused, unknown host, reset). */
export class PrometheusUnreachableError extends PrometheusError {}

/** No answer within the query's timeout. */
export class PrometheusTimeoutError extends PrometheusError {}

/** Prometheus answered `status: error` (a bad query, an execution timeout): its errorType and message. */
export class PrometheusQueryError extends PrometheusError {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/** An answer that is not Prometheus's API JSON (a proxy's page, a wrong path). */
export class PrometheusResponseError extends PrometheusError {}
