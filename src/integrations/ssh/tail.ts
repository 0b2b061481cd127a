// The last N bytes of a stream, however much went by: command output can be gigabytes, and only
// its end is worth keeping (it holds the error).
export class OutputTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Every byte seen, kept or not. */
  total = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.limit <= 0) return;
    if (chunk.length >= this.limit) {
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.limit))];
      this.kept = this.limit;
      return;
    }
    // Copy: a chunk may be a view on a larger pooled buffer we must not keep alive.
    this.chunks.push(Buffer.from(chunk));
    this.kept += chunk.length;
    while (this.kept - this.chunks[0]!.length >= this.limit) this.kept -= this.chunks.shift()!.length;
  }

  get truncated(): boolean {
    return this.total > this.kept;
  }

  buffer(): Buffer {
    const all = Buffer.concat(this.chunks);
    return all.length > this.limit ? all.subarray(all.length - this.limit) : all;
  }

  /** The tail as text; a multi-byte character cut at the start is dropped, not mangled. */
  text(): string {
    let bytes = this.buffer();
    if (this.truncated) {
      let skip = 0;
      while (skip < bytes.length && skip < 3 && (bytes[skip]! & 0xc0) === 0x80) skip++;
      bytes = bytes.subarray(skip);
    }
    return bytes.toString('utf8');
  }
}

/** The last `count` non-empty lines of a text, each cut to `width` characters. */
export function lastLines(text: string, count: number, width = 200): string[] {
  return text
    .split(/\r?\n|\r/)
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .map((line) => (line.length > width ? line.slice(0, width - 1) + '…' : line));
}
