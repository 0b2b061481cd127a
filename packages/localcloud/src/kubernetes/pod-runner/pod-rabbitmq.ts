// rabbitmq:* images (and their -management tags, run without the management plugin) in a pod run
// the machine's real RabbitMQ node (Debian's rabbitmq-server), as the pod's uid in its sandbox:
// AMQP on the pod's address (5672 unless the container declares another port), its state under
// the container's own /var/lib/rabbitmq and /var/log/rabbitmq, its log on stdout.
// Every node of the machine registers with the one epmd on 127.0.0.1:4369 (the system's
// RabbitMQ runs it; pods share the machine's network, so their nodes reach it): each pod's node
// is named rabbit-<pod uid>@localhost and takes a distribution port the kernel had free at its
// start, on 127.0.0.1. It never starts an epmd of its own (-start_epmd false): without the
// machine's, the container fails naming it. The cookie that guards distribution is the pod's own
// (/var/lib/rabbitmq/.erlang.cookie, readable by the pod's uid only).
// Like the official image: RABBITMQ_DEFAULT_USER, _PASS and _VHOST (guest/guest otherwise), any
// user allowed from other addresses. The server has no such variables: they become advanced.config,
// an Erlang term built here with every value as a list of bytes (nothing a value holds can end
// the term), written by the container's own script from its environment.
import { existsSync } from 'node:fs';
import { freeLoopbackPort } from '../free-port';
import type { Container } from './kube-types';
import { tcpProbe } from './probes';
import { ServerSettingsError, serverPort, type ServerLaunch, type ServerPod } from './server-launch';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD_PORT = 4369;
const STATE = '/var/lib/rabbitmq';

// The cookie: the one RABBITMQ_ERLANG_COOKIE names (then dropped from the environment, or
// rabbitmq-env would put it on the command line), else the pod's own, made once.
const SCRIPT = `set -e
export HOME=${STATE}
mkdir -p "$HOME" /var/log/rabbitmq
umask 077
if [ -n "$RABBITMQ_ERLANG_COOKIE" ]; then
  rm -f "$HOME/.erlang.cookie" && printf '%s' "$RABBITMQ_ERLANG_COOKIE" > "$HOME/.erlang.cookie"
elif [ ! -s "$HOME/.erlang.cookie" ]; then
  od -An -tx1 -N24 /dev/urandom | tr -d ' \\n' > "$HOME/.erlang.cookie"
fi
chmod 400 "$HOME/.erlang.cookie"
unset RABBITMQ_ERLANG_COOKIE
printf '%s\\n' "$OPSFLOW_RABBITMQ_ADVANCED_CONFIG" > "$RABBITMQ_ADVANCED_CONFIG_FILE"
unset OPSFLOW_RABBITMQ_ADVANCED_CONFIG
exec ${SERVER}`;

/** An Erlang binary of the text's UTF-8 bytes: <<97,112,112>>. */
function erlangBinary(text: string): string {
  return `<<${[...Buffer.from(text, 'utf8')].join(',')}>>`;
}

/** advanced.config with the official image's defaults from its environment. */
export function rabbitmqAdvancedConfig(env: Record<string, string>): string {
  const settings = [
    `{default_user, ${erlangBinary(env.RABBITMQ_DEFAULT_USER || 'guest')}}`,
    `{default_pass, ${erlangBinary(env.RABBITMQ_DEFAULT_PASS || 'guest')}}`,
    `{default_vhost, ${erlangBinary(env.RABBITMQ_DEFAULT_VHOST || '/')}}`,
    // As the official image's rabbitmq.conf (loopback_users.guest = false): clients come from other addresses.
    '{loopback_users, []}',
  ];
  return `[{rabbit, [${settings.join(', ')}]}].`;
}

/** The node's name on the machine's epmd: one per pod (uid without dashes, short enough to read). */
export function rabbitmqNodeName(pod: ServerPod): string {
  return `rabbit-${pod.uid.replace(/-/g, '').slice(0, 12)}@localhost`;
}

export async function rabbitmqLaunch(
  container: Container,
  address: string,
  env: Record<string, string>,
  pod: ServerPod,
): Promise<ServerLaunch> {
  if (!existsSync(SERVER))
    throw new ServerSettingsError(
      'RabbitMQ is not installed on this machine (apt-get install rabbitmq-server): rabbitmq images need its server',
    );
  if (!(await tcpProbe('127.0.0.1', EPMD_PORT, 2_000)).ok)
    throw new ServerSettingsError(
      `no epmd answers on 127.0.0.1:${EPMD_PORT} (the system's rabbitmq-server runs it: systemctl start rabbitmq-server): rabbitmq pods register their nodes with it`,
    );
  for (const name of ['RABBITMQ_DEFAULT_USER', 'RABBITMQ_DEFAULT_VHOST'])
    if ([...(env[name] ?? '')].some((c) => c.charCodeAt(0) < 0x20))
      throw new ServerSettingsError(`${name} may not contain control characters`);
  return {
    command: ['/bin/sh', '-c', SCRIPT],
    env: {
      ...env,
      OPSFLOW_RABBITMQ_ADVANCED_CONFIG: rabbitmqAdvancedConfig(env),
      RABBITMQ_NODENAME: rabbitmqNodeName(pod),
      RABBITMQ_NODE_IP_ADDRESS: address,
      RABBITMQ_NODE_PORT: String(serverPort(container, 5672)),
      RABBITMQ_DIST_PORT: String(await freeLoopbackPort()),
      RABBITMQ_MNESIA_BASE: `${STATE}/mnesia`,
      RABBITMQ_LOG_BASE: '/var/log/rabbitmq',
      RABBITMQ_LOGS: '-',
      RABBITMQ_ADVANCED_CONFIG_FILE: `${STATE}/advanced.config`,
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false',
    },
    readyLine: 'Server startup complete',
  };
}
