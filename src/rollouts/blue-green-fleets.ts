// Which fleet hosts are blue (active: nginx sends them the traffic now) and which become green
// (preview: they get the new version out of rotation). Unless the spec creates preview droplets
// (previewFleet.create), the two colours are fixed halves of the fleet that swap roles at each
// switch: the hosts nginx serves are active, the preview is taken from those out of rotation. With
// created droplets every fleet host nginx serves is active and the preview is made for the rollout.
// Pure, so the workflow decides it from what it read and replays the same.

export interface FleetHost {
  instance: string;
  /** address:port as nginx's upstream names it. */
  server: string;
}

export interface BlueGreenFleets {
  active: string[];
  preview: string[];
  /** Fleet hosts out of rotation left idle this time (more of them than the preview needs). */
  idle: string[];
  /** True when every fleet host served, so the preview had to be taken out of rotation first. */
  tookFromRotation: boolean;
}

export class BlueGreenFleetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlueGreenFleetError';
  }
}

const CREATE_HINT =
  'or set blueGreen.previewFleet: {create: 1} to create the preview as droplets made for the rollout (destroyed at its end)';

/**
 * `inRotation`: the servers nginx's upstream sends traffic to now. `previewSize`: the spec's
 * previewFleet.size; default all the hosts out of rotation, or half the fleet (rounded down) when
 * every host serves. `created`: the preview is droplets made for the rollout (previewFleet.create),
 * so it takes no fleet host: every fleet host nginx serves is active, the others idle.
 */
export function chooseBlueGreenFleets(fleet: FleetHost[], inRotation: string[], previewSize?: number, created = false): BlueGreenFleets {
  const strangers = inRotation.filter((server) => !fleet.some((h) => h.server === server));
  if (strangers.length)
    throw new BlueGreenFleetError(
      `nginx's upstream also sends traffic to ${strangers.join(', ')}, which ${strangers.length === 1 ? 'is' : 'are'} not in the fleet (${fleet.map((h) => `${h.instance} ${h.server}`).join(', ')}); a switch would drop ${strangers.length === 1 ? 'it' : 'them'}: add ${strangers.length === 1 ? 'it' : 'them'} to fleet.instances or take ${strangers.length === 1 ? 'it' : 'them'} out of the upstream first`,
    );
  const serving = fleet.filter((h) => inRotation.includes(h.server)).map((h) => h.instance);
  const out = fleet.filter((h) => !inRotation.includes(h.server)).map((h) => h.instance);
  if (serving.length === 0)
    throw new BlueGreenFleetError(
      `nginx's upstream sends traffic to none of the fleet (${fleet.map((h) => `${h.instance} ${h.server}`).join(', ')}), so there is no active fleet to keep serving during the switch`,
    );
  if (created) return { active: serving, preview: [], idle: out, tookFromRotation: false };
  if (out.length === 0) {
    const size = previewSize ?? Math.floor(fleet.length / 2);
    if (size < 1 || size >= fleet.length)
      throw new BlueGreenFleetError(
        `${previewSize === undefined ? `the preview (half the fleet, rounded down, unless previewFleet.size says) is ${size} host${size === 1 ? '' : 's'}` : `previewFleet.size is ${size}`}, but all ${fleet.length} fleet host${fleet.length === 1 ? '' : 's'} serve${fleet.length === 1 ? 's' : ''} now: the preview is taken from them and at least one must stay active; ${CREATE_HINT}`,
      );
    return { active: serving.slice(0, fleet.length - size), preview: serving.slice(fleet.length - size), idle: [], tookFromRotation: true };
  }
  const size = previewSize ?? out.length;
  if (size > out.length)
    throw new BlueGreenFleetError(
      `previewFleet.size is ${size}, but only ${out.length} fleet host${out.length === 1 ? ' is' : 's are'} out of rotation (${out.join(', ')}); ${serving.join(', ')} serve${serving.length === 1 ? 's' : ''} and stay${serving.length === 1 ? 's' : ''} active; ${CREATE_HINT}`,
    );
  return { active: serving, preview: out.slice(0, size), idle: out.slice(size), tookFromRotation: false };
}
