// Every request body the Linode emulation accepts passes Linode's own request schemas first
// (@linode/validation, the yup schemas Linode's Cloud Manager and client validate with). Each
// problem comes back as one entry of Linode's error shape, naming its field.
import type { AnySchema } from 'yup';
import { ValidationError } from 'yup';
import { LinodeApiError } from './errors';

export async function validated<T>(schema: AnySchema, body: unknown): Promise<T> {
  try {
    // Validated, not cast: the route reads the body it was sent, checked.
    await schema.validate(body, { abortEarly: false, strict: false });
    return body as T;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const problems = error.inner.length > 0 ? error.inner : [error];
    throw new LinodeApiError(
      400,
      problems.map((p) => ({ reason: p.message, ...(p.path ? { field: p.path } : {}) })),
    );
  }
}
