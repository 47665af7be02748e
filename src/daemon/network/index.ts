/** berthd's networking: networks, containers' endpoints, rules, proxies, and the routes' backend. */
export { NetworkManager, type ManagerOptions, type NetworkCreate } from './manager.js';
export { NetworkEndpoints, type ContainerAccess, type EndpointOptions } from './endpoints.js';
export { DaemonNetworks } from './service.js';
export { DOCKER_POOLS } from './ipam.js';
export { listNetns } from './netns.js';
export { vethsOn } from './links.js';
export { psPorts } from './ports.js';
export type { DnsRegistry, DnsEntry } from './dns.js';
export { DaemonNetworking, networkInstance } from './setup.js';
