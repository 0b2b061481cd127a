// Inside a droplet, `docker`, `docker-compose`, `systemctl`, `apt-get` and `apt` are this script
// (through small wrappers in /opt/localcloud/bin). It sends the command line, working directory
// and environment to the droplet's services manager on /run/localcloud/control.sock as one JSON
// line, then prints the manager's answer lines ({"stdout"}, {"stderr"}) and exits with {"exit"}.
// For `docker exec` the answer is {"exec": {argv, env, cwd, stdin}}: this script runs that command
// itself, in its own place in the droplet, with its own stdio, so pipes stream in both directions
// and the exit status is the command's. Node built-ins only: it runs on the machine's node.
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script run by node in the droplet */
'use strict';

const net = require('node:net');
const os = require('node:os');
const { spawn } = require('node:child_process');

const SOCKET = '/run/localcloud/control.sock';
const [tool, ...args] = process.argv.slice(2);

const UNREACHABLE = {
  docker: ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 1],
  'docker-compose': ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 1],
  systemctl: ["System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down", 1],
  'apt-get': ['E: Could not open lock file /var/lib/dpkg/lock-frontend - open (11: Resource temporarily unavailable)', 100],
  apt: ['E: Could not open lock file /var/lib/dpkg/lock-frontend - open (11: Resource temporarily unavailable)', 100],
};

function fail(message, code) {
  process.stderr.write(message + '\n');
  process.exitCode = code;
}

// A reader that went away (`docker logs x | head`) ends us quietly, as SIGPIPE would.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(141);
});

let ended = false;
const socket = net.createConnection(SOCKET);
socket.setEncoding('utf8');

socket.on('connect', () => {
  socket.write(JSON.stringify({ tool, args, cwd: process.cwd(), env: process.env }) + '\n');
});

socket.on('error', (error) => {
  if (ended) return;
  ended = true;
  if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
    const [message, code] = UNREACHABLE[tool] || ["localcloud: the droplet's services are not running", 1];
    fail(message, code);
  } else {
    fail(`localcloud: ${error.message}`, 1);
  }
});

let buffered = '';
socket.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\n')) !== -1) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line !== '') handle(JSON.parse(line));
  }
});

socket.on('close', () => {
  if (!ended) {
    ended = true;
    fail("localcloud: lost the connection to the droplet's services", 1);
  }
});

function write(stream, text) {
  // Keeps pace with a slow reader: the manager waits while the socket is full.
  if (!stream.write(text)) {
    socket.pause();
    stream.once('drain', () => socket.resume());
  }
}

function handle(message) {
  if (typeof message.stdout === 'string') write(process.stdout, message.stdout);
  else if (typeof message.stderr === 'string') write(process.stderr, message.stderr);
  else if (typeof message.exit === 'number') {
    ended = true;
    process.exitCode = message.exit;
    socket.end();
  } else if (message.exec) {
    ended = true;
    socket.end();
    run(message.exec);
  }
}

function run({ argv, env, cwd, stdin }) {
  try {
    process.chdir(cwd);
  } catch {
    fail(
      `OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd ("${cwd}") set in config.json failed: no such file or directory: unknown`,
      126,
    );
    return;
  }
  const child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: [stdin ? 'inherit' : 'ignore', 'inherit', 'inherit'] });
  child.on('error', (error) => {
    if (error.code === 'ENOENT') {
      fail(
        `OCI runtime exec failed: exec failed: unable to start container process: exec: "${argv[0]}": executable file not found in $PATH: unknown`,
        127,
      );
    } else {
      fail(`OCI runtime exec failed: exec failed: unable to start container process: ${error.message}: unknown`, 126);
    }
  });
  // A terminal's Ctrl-C reaches the command directly (same process group); signals sent to this
  // process alone (timeout, kill) are passed on.
  process.on('SIGINT', () => undefined);
  process.on('SIGQUIT', () => undefined);
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code !== null ? code : 128 + (os.constants.signals[signal] || 0);
  });
}
