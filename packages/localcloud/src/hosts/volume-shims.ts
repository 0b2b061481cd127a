// mkfs, blkid, mount and umount for volumes inside a droplet. They act on the device file (the
// volume's superblock) and on the droplet's mount table, which the sandbox turns into real bind
// mounts for every command started afterwards; anything else goes to the machine's own tools.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MOUNTS_FILE, VOLUME_DEVICE_PREFIX } from './volume-disks';

const COMMON = `set -euo pipefail
prefix=${VOLUME_DEVICE_PREFIX}
mounts=${MOUNTS_FILE}
is_volume() { [[ "$1" == "$prefix"* ]]; }
fs_type() { sed -n 's/^TYPE=//p' "$1"; }
`;

const MKFS = `#!/bin/bash
${COMMON}
# mkfs.<type> [-F] [-f] [-L label] [-q] DEVICE, or mkfs -t <type> ... DEVICE
tool=$(basename "$0"); type=\${tool#mkfs.}; force=0; device=
while (($#)); do
  case "$1" in
    -t) type=$2; shift 2 ;;
    -F|-f) force=1; shift ;;
    -L|-E|-O|-m|-b|-i) shift 2 ;;
    -q) shift ;;
    -*) shift ;;
    *) device=$1; shift ;;
  esac
done
if [[ -z "$device" ]]; then echo "Usage: $tool [-F] [-L label] device" >&2; exit 1; fi
if ! is_volume "$device"; then exec "/usr/sbin/$tool" "$device"; fi
if [[ ! -e "$device" ]]; then echo "$tool: No such file or directory while trying to determine filesystem size" >&2; exit 1; fi
case "$type" in ext4|ext3|xfs) ;; mkfs|"") echo "mkfs: no filesystem type given" >&2; exit 1 ;; *) echo "$tool: unsupported filesystem type $type" >&2; exit 1 ;; esac
existing=$(fs_type "$device")
if [[ -n "$existing" && $force -eq 0 ]]; then
  echo "$device contains a $existing file system; use -F to overwrite it" >&2; exit 1
fi
uuid=$(cat /proc/sys/kernel/random/uuid)
printf 'TYPE=%s\\nUUID=%s\\n' "$type" "$uuid" > "$device"
echo "Creating filesystem with UUID $uuid"
echo "Writing superblocks and filesystem accounting information: done"
`;

const BLKID = `#!/bin/bash
${COMMON}
# blkid DEVICE, blkid -o value -s TYPE|UUID DEVICE
value_only=0; tag=; device=
while (($#)); do
  case "$1" in
    -o) [[ "$2" == value ]] && value_only=1; shift 2 ;;
    -s) tag=$2; shift 2 ;;
    -*) shift ;;
    *) device=$1; shift ;;
  esac
done
if [[ -z "$device" ]] || ! is_volume "$device"; then exec /usr/sbin/blkid "$@"; fi
[[ -e "$device" ]] || exit 2
type=$(fs_type "$device"); uuid=$(sed -n 's/^UUID=//p' "$device")
[[ -n "$type" ]] || exit 2
if ((value_only)); then
  case "$tag" in TYPE) echo "$type" ;; UUID) echo "$uuid" ;; *) echo "$uuid"; echo "$type" ;; esac
else
  echo "$device: UUID=\\"$uuid\\" TYPE=\\"$type\\""
fi
`;

const MOUNT = `#!/bin/bash
${COMMON}
# mount -a | mount [-o opts] [-t type] DEVICE DIR; takes effect for commands started afterwards.
args=(); all=0
while (($#)); do
  case "$1" in
    -a) all=1; shift ;;
    -o|-t) shift 2 ;;
    -*) shift ;;
    *) args+=("$1"); shift ;;
  esac
done
record() { # device dir
  local device=$1 dir=$2 type
  [[ -e "$device" ]] || { echo "mount: $dir: special device $device does not exist." >&2; return 32; }
  type=$(fs_type "$device")
  [[ -n "$type" ]] || { echo "mount: $dir: wrong fs type, bad option, bad superblock on $device, missing codepage or helper program, or other error." >&2; return 32; }
  [[ -d "$dir" ]] || { echo "mount: $dir: mount point does not exist." >&2; return 32; }
  mkdir -p "$(dirname "$mounts")"; touch "$mounts"
  grep -v -F -x -e "$device $dir $type" "$mounts" > "$mounts.new" || true
  echo "$device $dir $type" >> "$mounts.new"; mv "$mounts.new" "$mounts"
}
if ((all)); then
  [[ -f /etc/fstab ]] || exit 0
  status=0
  while read -r device dir type options rest; do
    [[ -n "\${device:-}" && "$device" != \\#* ]] && is_volume "$device" || continue
    # nofail: a volume that is not attached is skipped, as systemd does at boot.
    if [[ ! -e "$device" && ",\${options:-}," == *,nofail,* ]]; then continue; fi
    record "$device" "$dir" || status=$?
  done < /etc/fstab
  exit $status
fi
if ((\${#args[@]} == 0)); then exec /usr/bin/mount; fi
if ((\${#args[@]} == 2)) && is_volume "\${args[0]}"; then record "\${args[0]}" "\${args[1]}"; exit $?; fi
exec /usr/bin/mount "$@"
`;

const UMOUNT = `#!/bin/bash
${COMMON}
target=\${!#}
touch "$mounts"
if ! awk -v t="$target" '$1 == t || $2 == t { found = 1 } END { exit !found }' "$mounts"; then
  echo "umount: $target: not mounted." >&2; exit 32
fi
awk -v t="$target" '!($1 == t || $2 == t)' "$mounts" > "$mounts.new"; mv "$mounts.new" "$mounts"
`;

export function writeVolumeShims(binDir: string): void {
  const scripts: Record<string, string> = { 'mkfs.ext4': MKFS, 'mkfs.xfs': MKFS, mkfs: MKFS, blkid: BLKID, mount: MOUNT, umount: UMOUNT };
  for (const [name, body] of Object.entries(scripts)) {
    const file = path.join(binDir, name);
    writeFileSync(file, body);
    chmodSync(file, 0o755);
  }
}
