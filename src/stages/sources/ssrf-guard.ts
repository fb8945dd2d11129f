import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { SluiceError } from "../../contracts/errors.ts";

/**
 * What a download may reach besides public addresses (the `download` config section).
 *
 * @example
 * const policy: SsrfPolicy = { allowPrivateNetworks: false, allowedHosts: ["localhost"] };
 */
export interface SsrfPolicy {
  /** Every non-public address is allowed. */
  allowPrivateNetworks: boolean;
  /** Exact host names (or IP literals) allowed whatever they resolve to. */
  allowedHosts: readonly string[];
}

/** Resolves a host to all its addresses (node:dns `lookup` with `all: true` unless a test gives another). */
export type ResolveAll = (host: string) => Promise<LookupAddress[]>;

const systemResolve: ResolveAll = (host) =>
  new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** IPv4 ranges that are not public, first match wins: [first octets as a 32-bit base, prefix length, class]. */
const V4_RANGES: ReadonlyArray<readonly [string, number, string]> = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "private (carrier-grade NAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.168.0.0", 16, "private"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

function v4ToInt(address: string): number {
  return address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

function classifyV4(value: number): string | null {
  for (const [base, prefix, name] of V4_RANGES) {
    const size = 2 ** (32 - prefix);
    if (Math.floor(value / size) === Math.floor(v4ToInt(base) / size)) return name;
  }
  return null;
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted quad counts as two). */
function v6Groups(address: string): number[] {
  let text = address.replace(/%.*$/, "");
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const n = v4ToInt(quad[1]!);
    text = `${text.slice(0, quad.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function classifyV6(address: string): string | null {
  const g = v6Groups(address);
  const first = g[0]!;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const embeddedV4 = g[6]! * 0x10000 + g[7]!;
  if (zeros(0, 8)) return "unspecified";
  if (zeros(0, 7) && g[7] === 1) return "loopback";
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach an IPv4 host.
  const mapped = zeros(0, 5) && g[5] === 0xffff;
  const nat64 = first === 0x64 && g[1] === 0xff9b && zeros(2, 6);
  if (mapped || nat64 || zeros(0, 6)) {
    const v4 = classifyV4(embeddedV4);
    return v4 === null ? null : `IPv4-mapped ${v4}`;
  }
  if ((first & 0xfe00) === 0xfc00) return "private (unique local)";
  if ((first & 0xffc0) === 0xfe80) return "link-local";
  if ((first & 0xffc0) === 0xfec0) return "private (site-local)";
  if ((first & 0xff00) === 0xff00) return "multicast";
  return null;
}

/**
 * The class of a non-public IP address ("loopback", "link-local", "private", "IPv4-mapped loopback", …), or
 * null for a public one (and for anything that is not an IP address).
 *
 * @example
 * addressClass("169.254.169.254"); // "link-local"
 * addressClass("::ffff:127.0.0.1"); // "IPv4-mapped loopback"
 * addressClass("93.184.216.34"); // null
 */
export function addressClass(address: string): string | null {
  const family = isIP(address.replace(/%.*$/, ""));
  if (family === 4) return classifyV4(v4ToInt(address));
  if (family === 6) return classifyV6(address);
  return null;
}

/** A URL's host name as DNS and `allowedHosts` see it: lower case, IPv6 literals without brackets. */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

/**
 * Resolves a download's host and checks every address it resolves to: one non-public address is enough to refuse
 * (a name that also resolves to a public address could be answered either way). Hosts in `allowedHosts`, and every
 * host when `allowPrivateNetworks` is on, skip the check. Connect only to the addresses returned (see
 * {@link pinnedLookup}), so a second DNS answer cannot swap in another target (DNS rebinding).
 *
 * @throws SluiceError `DOWNLOAD_FORBIDDEN` naming the host, the address and its class; `SOURCE_REJECTED` for a
 *   name that does not exist; `SOURCE_UNAVAILABLE` when DNS fails for another reason (retryable)
 *
 * @example
 * const addresses = await vetHost("169.254.169.254", { allowPrivateNetworks: false, allowedHosts: [] });
 * // throws DOWNLOAD_FORBIDDEN: "download of 169.254.169.254 refused: 169.254.169.254 is link-local"
 */
export async function vetHost(
  hostname: string,
  policy: SsrfPolicy,
  resolveAll: ResolveAll = systemResolve,
): Promise<LookupAddress[]> {
  const host = bareHost(hostname);
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const details = { host, dnsCode: code };
    if (code === "ENOTFOUND" || code === "ENODATA")
      throw new SluiceError("SOURCE_REJECTED", `download host ${host} does not resolve (${code})`, {
        details,
        cause: err,
      });
    throw new SluiceError(
      "SOURCE_UNAVAILABLE",
      `download host ${host} could not be resolved (${code ?? String(err)})`,
      {
        details,
        cause: err,
      },
    );
  }
  if (addresses.length === 0)
    throw new SluiceError("SOURCE_REJECTED", `download host ${host} resolves to no address`, { details: { host } });
  const allowed = policy.allowPrivateNetworks || policy.allowedHosts.some((h) => bareHost(h) === host);
  if (allowed) return addresses;
  for (const { address } of addresses) {
    const kind = addressClass(address);
    if (kind === null) continue;
    const what = address === host ? `${address} is ${kind}` : `${host} resolves to ${address}, which is ${kind}`;
    throw new SluiceError(
      "DOWNLOAD_FORBIDDEN",
      `download of ${host} refused: ${what} (allow it with download.allowedHosts or download.allowPrivateNetworks)`,
      { details: { host, address, addressClass: kind } },
    );
  }
  return addresses;
}

/**
 * A `lookup` for `http.request` that answers with already-vetted addresses only, never asking DNS again.
 *
 * @example
 * http.request(url, { lookup: pinnedLookup(await vetHost(url.hostname, policy)) });
 */
export function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = typeof options === "object" && options.family ? options.family : 0;
    const matching = addresses.filter((a) => family === 0 || a.family === family);
    const list = matching.length > 0 ? matching : addresses;
    if (typeof options === "object" && options.all)
      callback(
        null,
        list.map((a) => ({ ...a })),
      );
    else callback(null, list[0]!.address, list[0]!.family);
  };
}
