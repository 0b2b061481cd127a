// A workflow's history (or any proto message from the server) as text with every payload decoded,
// so a value carried in one shows: the check that a secret never entered history must look inside
// the payloads. JSON.stringify calls the message's toJSON first, which writes a payload's bytes as
// base64, so a replacer sees `data` strings, not Uint8Arrays; both are decoded here.
export function decodedText(message: unknown): string {
  return JSON.stringify(message, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    return typeof value === 'bigint' ? String(value) : value;
  });
}
