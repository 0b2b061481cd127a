// The fixed shell scripts opsflow runs on hosts. Their text never changes with the input: every
// value arrives as a positional argument ($1, $2, ...), quoted by the SSH client, so nothing a
// spec says can become shell syntax.

/** The compose project's environment file, next to compose.yaml. */
export const ENV_FILE = '.env';

/**
 * $1 device, $2 filesystem, $3 mount point. Formats only a device with no filesystem (never
 * over data), adds one fstab line (nofail, as DigitalOcean recommends) and mounts it.
 */
export const MOUNT_VOLUME = `set -euo pipefail
device=$1 fs=$2 dir=$3
for _ in $(seq 1 30); do [[ -e "$device" ]] && break; sleep 1; done
[[ -e "$device" ]] || { echo "volume device $device did not appear" >&2; exit 1; }
if ! blkid "$device" >/dev/null 2>&1; then "mkfs.$fs" "$device"; fi
have=$(blkid -o value -s TYPE "$device")
[[ "$have" == "$fs" ]] || { echo "$device holds a $have filesystem, not $fs; refusing to touch it" >&2; exit 1; }
mkdir -p "$dir"
if ! awk -v d="$device" -v m="$dir" '$1 == d && $2 == m { found = 1 } END { exit !found }' /etc/fstab 2>/dev/null; then
  printf '%s %s %s defaults,nofail,discard,noatime 0 2\\n' "$device" "$dir" "$fs" >> /etc/fstab
fi
mountpoint -q "$dir" || mount -o defaults,nofail,discard,noatime "$device" "$dir"
`;

/** Pairs of arguments: mode, path. */
export const MAKE_DIRECTORIES = `set -euo pipefail
while (($#)); do install -d -m "$1" "$2"; shift 2; done
`;

/** $1 the application directory. */
export const COMPOSE_UP = `set -euo pipefail
cd "$1"
docker compose pull --quiet
docker compose up -d --remove-orphans
`;

/**
 * $1 the application directory, then pairs NAME VALUE (a service's image, a database's address):
 * replaces those lines of .env (names and values are validated by the workflow) and keeps every
 * other line, secrets included, on the host.
 */
export const SET_ENV_VALUES = `set -euo pipefail
cd "$1"; shift
umask 077
cp ${ENV_FILE} ${ENV_FILE}.new
while (($#)); do
  awk -v n="$1" 'index($0, n "=") != 1' ${ENV_FILE}.new > ${ENV_FILE}.tmp
  printf "%s='%s'\\n" "$1" "$2" >> ${ENV_FILE}.tmp
  mv ${ENV_FILE}.tmp ${ENV_FILE}.new
  shift 2
done
mv ${ENV_FILE}.new ${ENV_FILE}
`;

/** $1 the application directory: prints `service image` for each running container. */
export const RUNNING_IMAGES = `set -euo pipefail
cd "$1"
docker compose ps --format '{{.Service}} {{.Image}}'
`;
