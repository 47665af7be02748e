/**
 * Container names: Docker's rules (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, stored
 * with a leading "/") and generated names in Docker's `adjective_surname`
 * style, from Berth's own lists (harbours, sailing and sea words; surnames
 * of navigators, cartographers and oceanographers).
 */
import { randomInt } from 'node:crypto';
import { invalidArgument } from '../../common/errors.js';

const VALID = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const ADJECTIVES = [
  'anchored', 'ashore', 'becalmed', 'briny', 'buoyant', 'coastal', 'docked', 'drifting', 'fathomless', 'foaming',
  'gusty', 'harboured', 'heeling', 'landlocked', 'leeward', 'listing', 'moored', 'nautical', 'offshore', 'outbound',
  'pelagic', 'quayside', 'reefed', 'rolling', 'salty', 'seaworthy', 'shipshape', 'steady', 'stormy', 'swift',
  'tidal', 'trim', 'upwind', 'veering', 'windward', 'yawing', 'zealous', 'brave', 'calm', 'eager',
];

const SURNAMES = [
  'abel', 'bering', 'bougainville', 'cabot', 'carson', 'cartier', 'champlain', 'cook', 'dampier', 'darwin',
  'drake', 'earle', 'ericsson', 'flinders', 'franklin', 'gama', 'hudson', 'humboldt', 'ibn_majid', 'kon',
  'lapérouse', 'magellan', 'maury', 'mercator', 'nansen', 'ortelius', 'piccard', 'polo', 'raleigh', 'ross',
  'shackleton', 'sylvia', 'tasman', 'tharp', 'vancouver', 'verrazzano', 'vespucci', 'wegener', 'zheng', 'amundsen',
].map((s) => s.normalize('NFD').replace(/[^a-z_]/g, ''));

/** The stored form ("/web") of a user-given name, refusing what Docker refuses. */
export function normalizeName(name: string): string {
  if (!VALID.test(name)) throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name : `/${name}`;
}

/** A fresh generated name; `retry` > 0 appends a digit, as Docker does after a collision. */
export function generateName(retry = 0): string {
  const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}

export function nameConflict(name: string, id: string): string {
  return `Conflict. The container name "${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`;
}
