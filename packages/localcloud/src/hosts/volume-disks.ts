// Block storage inside droplets and Linode instances. An attached volume shows up as its device,
// /dev/disk/by-id/scsi-0DO_Volume_<name> (a Linode volume at scsi-0Linode_Volume_<label>), a small file standing in for the disk's superblock (what
// `mkfs` writes and `blkid` reads). Its contents live in a folder of the volume's own, which a
// `mount` binds at the mount point for every command started afterwards, and which follows the
// volume from droplet to droplet. /etc/fstab is read at boot, as on a real droplet.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { CloudContext } from '../context';
import { writeDropletFile } from './isolation/droplet-files';
import { shiftOwnership } from './isolation/uid-range';
import { hostPath, type DropletSandbox } from './sandbox';

export const VOLUME_DEVICE_PREFIX = '/dev/disk/by-id/scsi-0DO_Volume_';
export const LINODE_VOLUME_DEVICE_PREFIX = '/dev/disk/by-id/scsi-0Linode_Volume_';
/** What both providers' volume devices start with: the shims and fstab take any device under it as a volume. */
export const VOLUME_DEVICE_ROOT = '/dev/disk/by-id/scsi-0';

/** An attached volume of either provider, as a host sees it. */
interface AttachedVolume {
  /** Its folder under the disks' directory (Linode ids are numbers from another counter: prefixed). */
  key: string;
  device: string;
  /** The filesystem it was created with ('' for none: Linode volumes come blank). */
  filesystemType: string;
  sizeGigabytes: number;
}
/** Inside the droplet: what is mounted now, one "device mountpoint fstype" per line (written by the mount shim). */
export const MOUNTS_FILE = '/var/lib/localcloud/mounts';
/** Inside the droplet: each attached volume's size, "device bytes" per line, for df (refreshed at each command). */
export const VOLUME_SIZES_FILE = '/var/lib/localcloud/volume-sizes';

export interface Bind {
  source: string;
  target: string;
}

export class VolumeDisks {
  constructor(
    private readonly ctx: CloudContext,
    private readonly dir: string,
  ) {}

  /** Device files for the droplet's attached volumes, and binds for what is mounted. */
  binds(sandbox: DropletSandbox): Bind[] {
    const attached = this.attachedTo(sandbox.dropletId);
    const binds: Bind[] = attached.map((volume) => ({
      source: this.deviceFile(volume.key, volume.filesystemType),
      target: volume.device,
    }));
    for (const mount of readMounts(sandbox)) {
      const volume = attached.find((v) => v.device === mount.device);
      // A detached volume's mount is gone, as its disk is; an unformatted one cannot be mounted.
      const uuid = volume && filesystemUuid(this.deviceFile(volume.key, volume.filesystemType));
      if (volume && uuid) binds.push({ source: this.dataDir(volume.key, uuid), target: mount.mountpoint });
    }
    writeSizes(sandbox, attached);
    // The droplet's root writes the device (mkfs) and the data: both belong to its uid range,
    // which a volume moved from another droplet is shifted into.
    for (const bind of binds) shiftOwnership(bind.source, sandbox.isolation.uidBase);
    return binds;
  }

  /** The server's attached volumes: DigitalOcean's by droplet, Linode's by instance (ids never collide). */
  private attachedTo(serverId: number): AttachedVolume[] {
    const state = this.ctx.store.state;
    return [
      ...state.volumes
        .filter((v) => v.droplet_ids.includes(serverId))
        .map((v) => ({
          key: v.id,
          device: VOLUME_DEVICE_PREFIX + v.name,
          filesystemType: v.filesystem_type,
          sizeGigabytes: v.size_gigabytes,
        })),
      ...state.linode.volumes
        .filter((v) => v.linode_id === serverId)
        .map((v) => ({ key: linodeVolumeKey(v.id), device: v.filesystem_path, filesystemType: '', sizeGigabytes: v.size })),
    ];
  }

  /** Boot: what /etc/fstab names (and `nofail` allows to be missing) becomes mounted. */
  boot(sandbox: DropletSandbox): void {
    const fstab = hostPath(sandbox, '/etc/fstab');
    const entries = existsSync(fstab)
      ? readFileSync(fstab, 'utf8')
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .filter((f) => f.length >= 3 && f[0]!.startsWith(VOLUME_DEVICE_ROOT))
      : [];
    writeDropletFile(sandbox, hostPath(sandbox, MOUNTS_FILE), entries.map((f) => `${f[0]} ${f[1]} ${f[2]}\n`).join(''));
  }

  volumeDestroyed(volumeId: string): void {
    rmSync(path.join(this.dir, volumeId), { recursive: true, force: true });
  }

  private deviceFile(volumeId: string, filesystemType: string): string {
    const file = path.join(this.dir, volumeId, 'device');
    if (!existsSync(file)) {
      mkdirSync(path.dirname(file), { recursive: true });
      // Volumes created with a filesystem_type come formatted, as on DigitalOcean.
      writeFileSync(file, filesystemType ? superblock(filesystemType, randomUUID()) : '');
    }
    return file;
  }

  /** Each filesystem made on the volume has its own folder: `mkfs` starts from empty, as it should. */
  private dataDir(volumeId: string, uuid: string): string {
    const dir = path.join(this.dir, volumeId, `fs-${uuid}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}

/** The sizes df reports, as the API has them now (a resize shows at the next command); written only when changed. */
function writeSizes(sandbox: DropletSandbox, attached: AttachedVolume[]): void {
  // Resolved in the droplet's own folder (a bind is never there), without asking for the binds being made.
  const file = hostPath({ ...sandbox, binds: undefined }, VOLUME_SIZES_FILE);
  const text = attached.map((volume) => `${volume.device} ${volume.sizeGigabytes * 1024 ** 3}\n`).join('');
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeDropletFile(sandbox, file, text);
}

/** A Linode volume's folder name among the disks. */
export const linodeVolumeKey = (id: number) => `linode-${id}`;

export function superblock(fsType: string, uuid: string): string {
  return `TYPE=${fsType}\nUUID=${uuid}\n`;
}

function filesystemUuid(deviceFile: string): string | undefined {
  const uuid = /^UUID=([0-9a-f-]{36})$/m.exec(readFileSync(deviceFile, 'utf8'))?.[1];
  return uuid;
}

function readMounts(sandbox: DropletSandbox): { device: string; mountpoint: string }[] {
  const file = path.join(sandbox.root, MOUNTS_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length >= 2 && f[1]!.startsWith('/') && !f[1]!.split('/').includes('..'))
    .map((f) => ({ device: f[0]!, mountpoint: f[1]! }));
}
