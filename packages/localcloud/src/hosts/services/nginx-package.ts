// Debian's nginx in a droplet. The droplet shares the machine's /usr, so /usr/sbin/nginx is the
// machine's (scripts/host-packages.sh installs nginx-light); installing the package writes what
// dpkg would put in /etc and /var, each file only if absent (an admin's edits survive a reinstall,
// as conffiles do). Two things differ from Debian, because droplets share the machine's network:
//   - servers listen on the droplet's address (`listen 127.x.y.z:80`), never `listen 80` (every
//     address of the machine); ports below 1024 are bound by the local cloud and handed to nginx
//     (listen-sockets.ts), the rest nginx binds itself;
//   - the unit runs nginx in the foreground (Type=simple, `daemon off`), so the local cloud tracks
//     its master by the handle it started, never by the pid file.
// nginx.conf also includes /etc/nginx/opsflow/*.conf in http{}: where opsflow's rollouts write
// their upstream files (the rollout spec's traffic.nginx.configDir default).
import { copyFileSync, cpSync, existsSync, lstatSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { giveToDroplet, makeDropletDir, writeDropletFile } from '../isolation/droplet-files';
import { hostPath, type DropletSandbox } from '../sandbox';

export const NGINX_BINARY = '/usr/sbin/nginx';
/** The command's name: the droplet's PATH finds the shim (nginx-cli.ts) before the binary. */
export const NGINX_TOOL = 'nginx';
/** Debian's names for nginx builds; any of them installs the machine's nginx. */
export const NGINX_PACKAGES = new Set(['nginx', 'nginx-light', 'nginx-core', 'nginx-full', 'nginx-extras']);
export const NGINX_UNIT = 'nginx.service';
export const OPSFLOW_NGINX_DIR = '/etc/nginx/opsflow';

/** Files nginx.conf includes that the machine's nginx-common has (mime.types, proxy_params, ...). */
const SUPPORT_FILES = ['mime.types', 'proxy_params', 'fastcgi.conf', 'fastcgi_params', 'scgi_params', 'uwsgi_params', 'snippets'];

export function nginxConf(): string {
  return `# Debian's nginx.conf, as a local cloud droplet has it (see /etc/nginx/sites-available/default).
user www-data;
# One worker: a droplet is small, and one worker keeps nginx's weighted round robin exact per
# cycle (each worker keeps its own state unless the upstream has a zone).
worker_processes 1;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
include /etc/nginx/modules-enabled/*.conf;

events {
	worker_connections 768;
}

http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	access_log /var/log/nginx/access.log;
	gzip on;

	include /etc/nginx/conf.d/*.conf;
	# opsflow's upstream files (weights for canary releases).
	include ${OPSFLOW_NGINX_DIR}/*.conf;
	include /etc/nginx/sites-enabled/*;
}
`;
}

export function defaultSite(address: string): string {
  return `# The default server. In a local cloud droplet, listen on the droplet's own address
# (${address}): droplets share the machine's network, so \`listen 80\` (every address) is refused.
server {
	listen ${address}:80 default_server;

	root /var/www/html;
	index index.html index.htm index.nginx-debian.html;
	server_name _;

	location / {
		try_files $uri $uri/ =404;
	}
}
`;
}

export function nginxUnit(): string {
  return `# nginx in a local cloud droplet: in the foreground, so the droplet's service manager tracks it.
[Unit]
Description=A high performance web server and a reverse proxy server
Documentation=man:nginx(8)

[Service]
Type=simple
ExecStartPre=${NGINX_BINARY} -t -q -g 'daemon off; master_process on;'
ExecStart=${NGINX_BINARY} -g 'daemon off; master_process on;'
ExecReload=${NGINX_BINARY} -g 'daemon off; master_process on;' -s reload

[Install]
WantedBy=multi-user.target
`;
}

const WELCOME = `<!DOCTYPE html>
<html><head><title>Welcome to nginx!</title></head>
<body><h1>Welcome to nginx!</h1><p>This is nginx in a local cloud droplet.</p></body></html>
`;

export function nginxOnMachine(): boolean {
  return existsSync(NGINX_BINARY);
}

/** What installing the package writes into the droplet, each file only if it is not there yet. */
export function writeNginxPackageFiles(sandbox: DropletSandbox): void {
  const write = (inside: string, text: string) => {
    const file = hostPath(sandbox, inside);
    if (!lstatSync(file, { throwIfNoEntry: false })) writeDropletFile(sandbox, file, text);
  };
  for (const dir of ['/etc/nginx/conf.d', '/etc/nginx/modules-enabled', '/etc/nginx/sites-available', '/etc/nginx/sites-enabled'])
    makeDropletDir(sandbox, hostPath(sandbox, dir));
  makeDropletDir(sandbox, hostPath(sandbox, OPSFLOW_NGINX_DIR));
  makeDropletDir(sandbox, hostPath(sandbox, '/var/log/nginx'));
  makeDropletDir(sandbox, hostPath(sandbox, '/var/lib/nginx'));
  for (const name of SUPPORT_FILES) {
    const from = path.join('/etc/nginx', name);
    const to = hostPath(sandbox, path.posix.join('/etc/nginx', name));
    if (!existsSync(from) || lstatSync(to, { throwIfNoEntry: false })) continue;
    if (lstatSync(from).isDirectory()) cpSync(from, to, { recursive: true });
    else copyFileSync(from, to);
    giveAll(sandbox, to);
  }
  write('/etc/nginx/nginx.conf', nginxConf());
  write('/etc/nginx/sites-available/default', defaultSite(sandbox.address));
  const enabled = hostPath(sandbox, '/etc/nginx/sites-enabled/default');
  if (!lstatSync(enabled, { throwIfNoEntry: false })) {
    symlinkSync('/etc/nginx/sites-available/default', enabled);
    giveToDroplet(sandbox, enabled);
  }
  write('/var/www/html/index.nginx-debian.html', WELCOME);
  write(`/etc/systemd/system/${NGINX_UNIT}`, nginxUnit());
}

function giveAll(sandbox: DropletSandbox, hostFile: string): void {
  giveToDroplet(sandbox, hostFile);
  if (!lstatSync(hostFile).isDirectory()) return;
  for (const entry of readdirSync(hostFile)) giveAll(sandbox, path.join(hostFile, entry));
}
