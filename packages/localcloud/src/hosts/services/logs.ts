// `docker logs` and `docker compose logs`: a container's log file from the droplet, the last N
// lines of it, optionally followed until the container stops or the caller hangs up.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Output } from './protocol';

export interface LogOptions {
  tail?: number;
  follow: boolean;
  prefix?: string;
  signal: AbortSignal;
  /** Following ends once this says the container no longer runs. */
  running: () => boolean;
}

const CHUNK = 64 * 1024;

export async function writeLog(io: Output, file: string, options: LogOptions): Promise<void> {
  let offset = startOffset(file, options.tail);
  let pending = '';
  const decoder = new StringDecoder('utf8');
  const emit = (text: string, final: boolean) => {
    pending += text;
    const cut = final ? pending.length : pending.lastIndexOf('\n') + 1;
    if (cut <= 0) return;
    const lines = pending.slice(0, cut);
    pending = pending.slice(cut);
    io.out(options.prefix ? lines.replace(/^(?=.)/gm, options.prefix) : lines);
  };
  const drain = async () => {
    while (!options.signal.aborted) {
      const chunk = readChunk(file, offset);
      if (chunk.length === 0) return;
      offset += chunk.length;
      emit(decoder.write(chunk), false);
      await io.drain();
    }
  };
  await drain();
  while (options.follow && !options.signal.aborted && options.running()) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    await drain();
  }
  await drain();
  emit(decoder.end(), true);
}

function startOffset(file: string, tail: number | undefined): number {
  const size = sizeOf(file);
  if (tail === undefined || tail < 0) return 0;
  if (tail === 0) return size;
  // Walks back from the end until it has seen `tail` line ends (the last byte's own excepted).
  let offset = size;
  let newlines = 0;
  while (offset > 0) {
    const start = Math.max(0, offset - CHUNK);
    const chunk = readChunk(file, start, offset - start);
    for (let i = chunk.length - 1; i >= 0; i--) {
      if (chunk[i] === 10 && start + i !== size - 1 && ++newlines === tail) return start + i + 1;
    }
    offset = start;
  }
  return 0;
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function readChunk(file: string, offset: number, length = CHUNK): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, offset);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
