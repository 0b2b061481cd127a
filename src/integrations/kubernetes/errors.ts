// What the API server says when it refuses a request: its Status (code, reason, message, the
// fields it rejected), with the object it was about. The message names the object and the fields,
// so an operator reading a failed activity knows what to fix without the API server's logs.
import { describeRef, type ObjectRef } from './refs';

/** A kubeconfig opsflow will not use; the message names its source, never its text. */
export class KubeconfigProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigProblem';
  }
}

/** The API server's metav1.Status, the fields opsflow reads. */
export interface ApiStatus {
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

// Server-side apply answers a manifest that does not fit the schema (an unknown field) with 500 and
// "failed to create typed patch object (...): .spec.x: field not declared in schema": a refusal
// that a resend cannot change, not an outage. Its message alone names the field.
const SCHEMA_REFUSAL = /failed to create typed (patch )?object|field not declared in schema/;
const UNDECLARED_FIELD = /(\.?[\w.[\]-]+): field not declared in schema/g;
const UNKNOWN_FIELD = /unknown field "([^"]+)"/g;

/** The fields a refusal names: the Status's causes, else those its message names. */
export function rejectedFields(status: ApiStatus): string[] {
  const fromCauses = (status.details?.causes ?? []).map((c) => c.field).filter((f): f is string => !!f);
  const message = status.message ?? '';
  const fromMessage = [...message.matchAll(UNDECLARED_FIELD), ...message.matchAll(UNKNOWN_FIELD)].map((m) => m[1]!.replace(/^\./, ''));
  return [...new Set([...fromCauses, ...fromMessage])];
}

export class KubernetesRequestError extends Error {
  readonly fields: string[];
  /** The manifest does not fit the kind's schema (answered 500 by server-side apply, yet final). */
  readonly schemaRefusal: boolean;

  constructor(
    /** The HTTP status (0: no answer). */
    readonly status: number,
    readonly apiStatus: ApiStatus,
    readonly object?: ObjectRef,
    /** What was being done, for the message: "apply", "read", "delete"... */
    readonly action?: string,
  ) {
    const fields = rejectedFields(apiStatus);
    const schemaRefusal = SCHEMA_REFUSAL.test(apiStatus.message ?? '');
    const about = object ? `${action ? `${action} ` : ''}${describeRef(object)}` : (action ?? 'Kubernetes API request');
    const verdict =
      schemaRefusal || (status >= 400 && status < 500 && status !== 404 && status !== 429) ? 'rejected by the API server' : 'failed';
    const fieldText = fields.length > 0 ? ` (field${fields.length === 1 ? '' : 's'} ${fields.join(', ')})` : '';
    const code = `${status || 'no answer'}${apiStatus.reason ? ` ${apiStatus.reason}` : ''}`;
    super(`${about} ${verdict}${fieldText}: ${code}: ${apiStatus.message ?? 'no message'}`);
    this.name = 'KubernetesRequestError';
    this.fields = fields;
    this.schemaRefusal = schemaRefusal;
  }

  /** The same refusal, said of `object` (the client knows the object; the transport does not). */
  about(object: ObjectRef, action: string): KubernetesRequestError {
    return new KubernetesRequestError(this.status, this.apiStatus, object, action);
  }

  get notFound(): boolean {
    return this.status === 404;
  }

  /** Worth sending again: the server was busy, unavailable, or did not answer. */
  get retryable(): boolean {
    return !this.schemaRefusal && (this.status === 0 || this.status === 429 || this.status >= 500);
  }
}

/** A Status body, or a stand-in for a body that is not one (a proxy's HTML page, nothing). */
export function parseStatus(status: number, text: string): ApiStatus {
  try {
    const parsed = JSON.parse(text) as ApiStatus;
    if (parsed && typeof parsed === 'object') return parsed;
  } catch {
    // not JSON: fall through
  }
  return { code: status, message: text.slice(0, 300) || undefined };
}
