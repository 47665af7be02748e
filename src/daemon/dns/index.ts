/** berthd's embedded DNS server: what the network side and the daemon use. */
export { EmbeddedDns, type DnsRegistry, type DnsEndpoint, type EmbeddedDnsOptions } from './embedded.js';
export { DnsTable, type DnsEntry } from './table.js';
export { DNS_ADDRESS } from './netns.js';
export { HostResolvers, UPSTREAM_ENV, parseResolvConf, parseUpstreamList, type Upstream } from './upstream.js';
