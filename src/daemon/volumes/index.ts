/** The daemon's volumes (local driver) and the resolver containers use. */
export { DaemonVolumes, imageVolumeRequests, ANONYMOUS_LABEL, type VolumeServiceDeps } from './service.js';
