// Request bodies: parsed with zod, every problem answered in Cloudflare's envelope naming its
// field; and, at compile time, each body schema held against the official library's params type.
import type { z } from 'zod';
import { CODES, invalid } from './envelope';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown, code: number = CODES.invalid): z.output<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalid(['request body must be a JSON object'], code);
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw invalid(
      parsed.error.issues.map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : 'body'}: ${issue.message}`),
      code,
    );
  return parsed.data;
}

/** A type with every field, at any depth, optional: what the emulator requires beyond the library's
 * own required fields is its business (checked at run time, naming the field); the types must agree. */
type Loose<T> = T extends readonly (infer E)[] ? Loose<E>[] : T extends object ? { [K in keyof T]?: Loose<T[K]> } : T;

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

/**
 * True when a body the emulator accepts (`Ours`, a schema's input type) fits what the library
 * sends (`Lib`, its params type): no field the library lacks, every field the library requires
 * is read, and each field's values agree with the library's (whatever the library may put in a
 * field we read, we take, bar the emulator requiring fields the library leaves optional). Otherwise an object naming the drift, which the `Holds` check below rejects.
 */
export type Accepts<Ours, Lib> = [Exclude<keyof Ours, keyof Lib>] extends [never]
  ? [Exclude<RequiredKeys<Lib>, keyof Ours>] extends [never]
    ? Pick<Lib, keyof Ours & keyof Lib> extends Loose<Ours>
      ? true
      : {
          fieldTypesDiffer: { [K in keyof Ours & keyof Lib]: Pick<Lib, K> extends Loose<Pick<Ours, K>> ? never : K }[keyof Ours &
            keyof Lib];
        }
    : { libraryRequiresUnread: Exclude<RequiredKeys<Lib>, keyof Ours> }
  : { notInLibrary: Exclude<keyof Ours, keyof Lib> };

/** A compile-time assertion: `Holds<Accepts<A, B>>` fails to type-check unless it is `true`. */
export type Holds<T extends true> = T;

// The check itself, held to account: each kind of drift it must catch fails to type-check here,
// so a check that stopped catching it would fail `tsc` (an unused @ts-expect-error is an error).
type LibraryBody = { name: string; weight?: number; origins: { address?: string }[] };
export type DriftCaught = [
  // @ts-expect-error the emulator reads a field the library does not send
  Holds<Accepts<{ name: string; origins: { address?: string }[]; wieght?: number }, LibraryBody>>,
  // @ts-expect-error the emulator does not read a field the library requires
  Holds<Accepts<{ name: string }, LibraryBody>>,
  // @ts-expect-error the emulator takes another type than the library sends
  Holds<Accepts<{ name: string; origins: { address?: string }[]; weight?: string }, LibraryBody>>,
  // @ts-expect-error the same, one level down
  Holds<Accepts<{ name: string; origins: { address?: number }[] }, LibraryBody>>,
  Holds<Accepts<{ name: string; origins: { address: string }[]; weight?: number }, LibraryBody>>,
];
