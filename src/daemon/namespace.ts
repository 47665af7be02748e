/** The core namespace holding the engine's containers, images and snapshots (dockerd uses "moby" in containerd). */
export const ENGINE_NAMESPACE = 'berthd';
