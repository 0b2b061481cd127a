// IPv4 CIDR arithmetic for the VPC routes: parsing, overlap, and the n-th host address. The cloud's
// own (the product checks spec ranges with src/specs/cidr.ts): a fake cloud that shared the product's
// checks could not catch the product's mistakes.

export interface Cidr {
  network: number;
  prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return undefined; // host bits set: not a network address
  return { network: address, prefix };
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const aEnd = a.network + 2 ** (32 - a.prefix);
  const bEnd = b.network + 2 ** (32 - b.prefix);
  return a.network < bEnd && b.network < aEnd;
}

export function hostAddress(cidr: Cidr, index: number): string {
  const address = cidr.network + index;
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

export function isPrivateRange(cidr: Cidr): boolean {
  const inRange = (base: string) => overlaps(cidr, parseCidr(base) as Cidr) && cidr.network >= (parseCidr(base) as Cidr).network;
  return inRange('10.0.0.0/8') || inRange('172.16.0.0/12') || inRange('192.168.0.0/16');
}
