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

test('a primary re-seeded from a copy has what the copy held up to its gtid_slave_pos, though not in its binlog state', () => {
  // fra1 re-seeded from london at 0-62-386 (binlog reset, copy loaded unlogged), then promoted without
  // writing: its binlog state is empty, its gtid_slave_pos the copy's position. London, about to
  // follow it, holds nothing fra1 lacks.
  const london = parseGtidState('0-61-38,0-62-386');
  expect(errantAgainst(london, {}, '0-62-386')).toBe(0);
  expect(errantAgainst(london, parseGtidState('0-61-390'), '0-62-386')).toBe(0);
  // Without the floor it looks errant (the flake this fixed).
  expect(errantAgainst(london, {})).toBe(2);
  // A London write after the copy is still caught.
  expect(errantAgainst(parseGtidState('0-61-38,0-62-387'), {}, '0-62-386')).toBe(1);
  // A floor the server's history never passed through covers nothing: the diverged server stays errant.
  expect(errantAgainst(parseGtidState('0-61-39'), parseGtidState('0-61-38,0-62-600'), '0-62-600')).toBe(1);
  // And the old case with the primary's own floor (london replicated fra1 up to 0-61-38) still counts 0-61-39.
  expect(errantAgainst(parseGtidState('0-61-39'), parseGtidState('0-61-38,0-62-600'), '0-61-38')).toBe(1);
});
