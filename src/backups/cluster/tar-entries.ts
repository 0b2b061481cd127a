// A cluster backup's archive as tar entries: written as a stream (tar-stream's pack) for the
// upload to gzip and hash on the way, and read back from a verified download into memory (a
// cluster's objects are JSON of kilobytes each). Only regular files with relative paths are read;
// anything else in an archive is refused, never written anywhere.
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { BackupError } from '../errors';

export interface TarEntry {
  path: string;
  bytes: Buffer;
}

/** A tar stream of `entries`, in order (mtime: the backup's time, so a retried export writes the same bytes' layout). */
export function packEntries(entries: TarEntry[], mtime: Date): Readable {
  const tar = pack();
  (async () => {
    for (const entry of entries)
      await new Promise<void>((resolve, reject) =>
        tar.entry({ name: entry.path, size: entry.bytes.length, mode: 0o600, mtime }, entry.bytes, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    tar.finalize();
  })().catch((err: unknown) => tar.destroy(err as Error));
  return Readable.from(tar as unknown as AsyncIterable<Buffer>);
}

const SAFE_PATH = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/:-]+$/;

/** Every entry of a (gzipped) tar stream; BackupError naming the first entry that is not a plain relative file. */
export async function unpackEntries(gzipped: Readable, what: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const reader = extract();
  const gunzip = createGunzip();
  // pipe() does not pass errors on: a broken source or gzip stream ends the reading with its error.
  for (const stream of [gzipped, gunzip]) stream.on('error', (err) => reader.destroy(err));
  gzipped.pipe(gunzip).pipe(reader as unknown as NodeJS.WritableStream);
  for await (const entry of reader) {
    const { name, type } = entry.header;
    if (type !== 'file' || !SAFE_PATH.test(name)) {
      entry.resume();
      throw new BackupError(
        'BackupNotAuthentic',
        `${what}: entry ${JSON.stringify(name)} (${type}) is not a plain file of a cluster backup`,
        false,
      );
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
    entries.push({ path: name, bytes: Buffer.concat(chunks) });
  }
  return entries;
}
