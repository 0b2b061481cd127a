// MariaDB GTID arithmetic: positions per domain, and the binlog state per domain and server id that
// tells a diverged server (one that wrote under a sequence number the primary used too) apart.
import { errantAgainst, parseGtidPosition, parseGtidState, transactionsMissing } from '../../src/integrations/mysql/gtid';

test('a position keeps the highest sequence per domain; missing transactions are counted per domain', () => {
  expect(parseGtidPosition('0-61-38,1-62-7')).toEqual({ '0': 38, '1': 7 });
  expect(transactionsMissing(parseGtidPosition('0-62-600'), parseGtidPosition('0-61-38'))).toBe(562);
  expect(() => parseGtidPosition('0-61')).toThrow('not a MariaDB GTID: "0-61" (expected domain-server-sequence)');
});

test("a server that wrote after the new primary moved on is errant by its state, though its position is behind the primary's", () => {
  // fra1 was primary up to 0-61-38; london, promoted, wrote up to 0-62-600; fra1 then wrote 0-61-39 by hand.
  const fra = parseGtidState('0-61-39');
  const london = parseGtidState('0-61-38,0-62-600');
  expect(transactionsMissing(parseGtidPosition('0-61-39'), parseGtidPosition('0-62-600'))).toBe(0); // positions alone miss it
  expect(errantAgainst(fra, london)).toBe(1);
  // A server whose binlog the primary holds whole: nothing errant.
  expect(errantAgainst(parseGtidState('0-61-38'), london)).toBe(0);
  // A server id the primary never saw counts as at least one.
  expect(errantAgainst(parseGtidState('0-63-5,0-61-38'), london)).toBe(1);
  expect(errantAgainst({}, london)).toBe(0);
});
