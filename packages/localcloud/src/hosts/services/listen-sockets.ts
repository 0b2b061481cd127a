// nginx's privileged ports in a droplet. Droplets share the machine's network namespace, where a
// droplet's root is an unprivileged uid that cannot bind ports below 1024, and nginx binds (or,
// under `nginx -t`, tries to bind) every address it listens on. So the droplet's ports 80 and 443,
// on its own address only, are bound on the machine's side and handed to nginx through its own
// mechanism for inherited sockets (the NGINX environment variable, as in a binary upgrade or
// systemd socket activation): a small Perl launcher binds them as the machine's root, puts them on
// fixed descriptors and execs bwrap, so the sockets are only ever open in nginx, never in the local
// cloud (which would otherwise accept connections on them).
//   - the master gets listening sockets; a reload reuses them (other ports nginx binds itself);
//   - `nginx -t` gets sockets bound but not listening (SO_REUSEPORT beside the running master's),
//     which take no connection away from the master.
// A port already taken on the address (an application published on 80) is skipped, with a line on
// stderr: nginx then fails on it, as it would on a host where the port is taken.
import { readFileSync } from 'node:fs';

export const PRIVILEGED_NGINX_PORTS = [80, 443];
/** The descriptor the first socket gets in nginx: above stdio, the status pipe and the namespaces. */
export const FIRST_SOCKET_FD = 20;

const PERL = '/usr/bin/perl';
// Arguments: listen (1) or bind only (0), then host:port pairs, `--`, then the program and its args.
const LAUNCHER = String.raw`
use strict; use Socket; use POSIX ();
my $listen = shift @ARGV; my $fd = ${FIRST_SOCKET_FD};
while (@ARGV) {
  my $address = shift @ARGV; last if $address eq '--';
  my ($host, $port) = split /:/, $address;
  socket(my $s, PF_INET, SOCK_STREAM, 0) or die "localcloud: socket: $!\n";
  setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1) or die "localcloud: SO_REUSEADDR: $!\n";
  setsockopt($s, SOL_SOCKET, SO_REUSEPORT, 1) or die "localcloud: SO_REUSEPORT: $!\n";
  if (!bind($s, pack_sockaddr_in($port, inet_aton($host)))) {
    print STDERR "localcloud: $host:$port is taken on this droplet ($!): nginx cannot listen there\n";
    next;
  }
  if ($listen) { listen($s, 511) or die "localcloud: listen $host:$port: $!\n"; }
  POSIX::dup2(fileno($s), $fd) or die "localcloud: dup2: $!\n";
  $ENV{NGINX} = ($ENV{NGINX} // '') . "$fd;"; $fd++;
}
exec { $ARGV[0] } @ARGV or die "localcloud: exec $ARGV[0]: $!\n";
`;

/**
 * The launcher (sandbox.ts's `launcher`) that hands nginx the droplet's privileged ports: listening
 * for the master, bound only for `nginx -t`. Empty when this machine lets anyone bind them.
 */
export function nginxSocketLauncher(address: string, mode: 'listen' | 'test'): string[] {
  const ports = PRIVILEGED_NGINX_PORTS.filter((port) => port < unprivilegedPortStart());
  if (ports.length === 0) return [];
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) throw new Error(`droplet address ${address} is not a loopback address`);
  return [PERL, '-e', LAUNCHER, mode === 'listen' ? '1' : '0', ...ports.map((port) => `${address}:${port}`), '--'];
}

/** The first port an unprivileged process may bind on this machine. */
function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  } catch {
    return 1024;
  }
}
