/**
 * The hook the embedded DNS server plugs into: berthd tells it which names
 * answer with which address on which user-defined network, and in which
 * namespace a container asks (127.0.0.11 there). Without a registry,
 * containers get the host's resolvers.
 */
export interface DnsEntry {
  network: string;
  container: string;
  /** the container's name, short ID and aliases on that network */
  names: string[];
  ip: string;
  /** the container's network namespace file */
  netns: string;
  /** where names it does not know are forwarded */
  upstream: string[];
  /** the bridge's address */
  gateway?: string;
  /** lets `<name>.<network name>` resolve too */
  networkName?: string;
  /** an internal network has no way out: no forwarding */
  internal?: boolean;
}

export interface DnsRegistry {
  register(e: DnsEntry): void | Promise<void>;
  unregister(network: string, container: string): void | Promise<void>;
}
