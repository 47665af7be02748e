/** The daemon's images: the users' view over the core's image service. */
export { DaemonImages, type ImageServiceDeps } from './service.js';
export { CredentialMemory, rememberLogins } from './auth.js';
export { allImages, findImage, containersUsing, tagsOf, type ImageView } from './catalog.js';
export { layerUse, layersSize, sharedSize } from './layer-use.js';
