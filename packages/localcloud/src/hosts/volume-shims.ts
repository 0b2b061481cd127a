// mkfs, blkid, mount, umount and df for volumes inside a droplet. They act on the device file (the
// volume's superblock) and on the droplet's mount table, which the sandbox turns into real bind
// mounts for every command started afterwards; anything else goes to the machine's own tools.
// df shows a mounted volume at the volume's own size: its bind mount alone would show the machine's disk.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MOUNTS_FILE, VOLUME_DEVICE_ROOT, VOLUME_SIZES_FILE } from './volume-disks';

const COMMON = `set -euo pipefail
prefix=${VOLUME_DEVICE_ROOT}
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

const DF = `#!/bin/bash
${COMMON}sizes=${VOLUME_SIZES_FILE}
# df [-h|-H|-k|-m|-B SIZE] [-T] [--output[=FIELDS]] [FILE...]: a mounted volume at its own size.
opts=(); files=(); unit=1024; human=; typed=0; fields=
# Short flags given together (-hT) are taken one by one.
split=()
for arg in "$@"; do
  if [[ "$arg" =~ ^-[hHkmTPal]{2,}$ ]]; then
    for ((i = 1; i < \${#arg}; i++)); do split+=("-\${arg:i:1}"); done
  else
    split+=("$arg")
  fi
done
set -- "\${split[@]}"
while (($#)); do
  case "$1" in
    -h|--human-readable) human=iec; opts+=("$1"); shift ;;
    -H|--si) human=si; opts+=("$1"); shift ;;
    -k) unit=1024; opts+=("$1"); shift ;;
    -m) unit=1M; opts+=("$1"); shift ;;
    -B) unit=$2; opts+=("$1" "$2"); shift 2 ;;
    -B*) unit=\${1#-B}; opts+=("$1"); shift ;;
    --block-size=*) unit=\${1#*=}; opts+=("$1"); shift ;;
    -T|--print-type) typed=1; opts+=("$1"); shift ;;
    --output) fields=source,fstype,size,used,avail,pcent,target; opts+=("$1"); shift ;;
    --output=*) fields=\${1#*=}; opts+=("$1"); shift ;;
    --) shift; files+=("$@"); break ;;
    -*) opts+=("$1"); shift ;;
    *) files+=("$1"); shift ;;
  esac
done
unit=\${unit%B}
[[ "$unit" =~ ^[0-9] ]] || unit=1$unit
unit=$(numfmt --from=iec "$unit" 2>/dev/null || echo 1024)
[[ -n "$fields" ]] || { fields=source; ((typed)) && fields+=,fstype; fields+=,size,used,avail,pcent,target; }
IFS=, read -ra columns <<< "$fields"
[[ -f "$mounts" ]] || mounts=/dev/null
# The volume mount holding FILE, longest mount point first: "device mountpoint type".
volume_mount() {
  local real; real=$(realpath -m -- "$1")
  awk -v p="$real" -v v="$prefix" 'index($1, v) == 1 && (p == $2 || index(p, $2 "/") == 1) { print length($2), $1, $2, $3 }' "$mounts" |
    sort -rn | head -1 | cut -d' ' -f2-
}
amount() { # bytes, as df shows them
  if [[ -n "$human" ]]; then
    if (($1 == 0)); then echo 0; else numfmt --to="$human" --round=up "$1"; fi
  else
    echo $(( ($1 + unit - 1) / unit ))
  fi
}
unit_name() { # 1B, 1K, 1M, 512 ... as df names its blocks
  local n=$unit suffix=B s
  for s in K M G T; do
    ((n % 1024 == 0)) || break
    n=$((n / 1024)); suffix=$s
  done
  if [[ $suffix == B && $n != 1 ]]; then echo "$n"; else echo "$n$suffix"; fi
}
line() { local IFS=$'\\t'; echo "$*"; }
header() {
  local out=() x
  for x in "\${columns[@]}"; do
    case "$x" in
      source) out+=(Filesystem) ;;
      fstype) out+=(Type) ;;
      size) if [[ -n "$human" ]]; then out+=(Size); else out+=("$(unit_name)-blocks"); fi ;;
      used) out+=(Used) ;;
      avail) if [[ -n "$human" ]]; then out+=(Avail); else out+=(Available); fi ;;
      pcent) out+=(Use%) ;;
      target) out+=("Mounted on") ;;
      *) echo "df: option --output: field '$x' unknown" >&2; exit 1 ;;
    esac
  done
  line "\${out[@]}"
}
row() { # device mountpoint type
  local device=$1 dir=$2 type=$3 size used avail out=() x
  size=$(awk -v d="$device" '$1 == d { print $2 }' "$sizes" 2>/dev/null)
  size=\${size:-0}
  used=$(du -s -x -B1 "$dir" 2>/dev/null | cut -f1 || true)
  used=\${used:-0}
  avail=$((size > used ? size - used : 0))
  for x in "\${columns[@]}"; do
    case "$x" in
      source) out+=("$device") ;;
      fstype) out+=("$type") ;;
      size) out+=("$(amount "$size")") ;;
      used) out+=("$(amount "$used")") ;;
      avail) out+=("$(amount "$avail")") ;;
      pcent) if ((size > 0)); then out+=("$(( (used * 100 + size - 1) / size ))%"); else out+=(-); fi ;;
      target) out+=("$dir") ;;
    esac
  done
  line "\${out[@]}"
}
# The machine's own df for what is not on a volume, its header dropped, columns split by tabs.
machine() { /usr/bin/df "\${opts[@]}" "$@" | tail -n +2 | sed -E 's/ +/\\t/g'; }
report() {
  local status=0
  header
  if ((\${#files[@]} == 0)); then
    volumes=$(awk -v v="$prefix" 'index($1, v) == 1 { print $2 }' "$mounts")
    machine | awk -F'\\t' -v skip="$volumes" 'BEGIN { n = split(skip, s, "\\n"); for (i = 1; i <= n; i++) drop[s[i]] = 1 } !($NF in drop)'
    while read -r device dir type _; do
      if [[ -n "$device" ]] && is_volume "$device"; then row "$device" "$dir" "$type"; fi
    done < "$mounts"
  else
    for file in "\${files[@]}"; do
      if [[ ! -e "$file" ]]; then echo "df: $file: No such file or directory" >&2; status=1; continue; fi
      found=$(volume_mount "$file")
      if [[ -n "$found" ]]; then row $found; else machine "$file"; fi
    done
  fi
  return $status
}
status=0
table=$(report) || status=$?
column -t -s $'\\t' <<< "$table"
exit $status
`;

export function writeVolumeShims(binDir: string): void {
  const scripts: Record<string, string> = {
    'mkfs.ext4': MKFS,
    'mkfs.xfs': MKFS,
    mkfs: MKFS,
    blkid: BLKID,
    mount: MOUNT,
    umount: UMOUNT,
    df: DF,
  };
  for (const [name, body] of Object.entries(scripts)) {
    const file = path.join(binDir, name);
    writeFileSync(file, body);
    chmodSync(file, 0o755);
  }
}
