import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** One address of a name, as `dns.promises.lookup(name, { all: true })` lists them. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

export type LookupAll = (hostname: string) => Promise<ResolvedAddress[]>;

const lookupAll: LookupAll = (hostname) => dnsLookup(hostname, { all: true });

/**
 * The replica URLs behind `urls`: each URL as given, or, with `eachAddress`, one URL per address its
 * host name resolves to. A Kubernetes headless Service (`clusterIP: None`) resolves to the IP of
 * every ready pod, so `http://fleetcast-inference-pods.fleetcast.svc:8080` with `eachAddress`
 * checks each pod rather than whichever one a ClusterIP Service picks. A name that resolves to
 * nothing is an error naming it: verifying zero replicas must never pass.
 */
export async function replicaUrls(
  urls: readonly string[],
  eachAddress: boolean,
  lookup: LookupAll = lookupAll,
): Promise<string[]> {
  if (!eachAddress) return [...new Set(urls)];
  const out: string[] = [];
  for (const raw of urls) {
    const url = new URL(raw);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      out.push(raw);
      continue;
    }
    let addresses: ResolvedAddress[];
    try {
      addresses = await lookup(host);
    } catch (error) {
      throw new Error(`service URL ${raw}: cannot resolve ${host} (${(error as Error).message})`, {
        cause: error,
      });
    }
    if (addresses.length === 0) throw new Error(`service URL ${raw}: ${host} resolves to no address`);
    for (const { address, family } of addresses) {
      const replica = new URL(raw);
      replica.hostname = family === 6 ? `[${address}]` : address;
      out.push(replica.toString());
    }
  }
  return [...new Set(out)];
}
