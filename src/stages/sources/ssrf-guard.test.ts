import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { describe, it } from "node:test";
import { isSluiceError } from "../../contracts/errors.ts";
import { addressClass, pinnedLookup, vetHost, type SsrfPolicy } from "./ssrf-guard.ts";

const strict: SsrfPolicy = { allowPrivateNetworks: false, allowedHosts: [] };

async function refused(host: string, policy: SsrfPolicy, message: RegExp, resolve?: () => Promise<LookupAddress[]>) {
  await assert.rejects(vetHost(host, policy, resolve), (err: unknown) => {
    assert.ok(isSluiceError(err), String(err));
    assert.equal(err.code, "DOWNLOAD_FORBIDDEN");
    assert.equal(err.retryable, false);
    assert.match(err.message, message);
    return true;
  });
}

describe("addressClass", () => {
  it("names every non-public class, IPv4-mapped IPv6 included, and passes public addresses", () => {
    const cases: Array<[string, string | null]> = [
      ["127.0.0.1", "loopback"],
      ["127.255.0.9", "loopback"],
      ["10.0.0.1", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["172.32.0.1", null],
      ["192.168.1.1", "private"],
      ["100.64.0.1", "private (carrier-grade NAT)"],
      ["100.128.0.1", null],
      ["169.254.169.254", "link-local"],
      ["0.0.0.0", "unspecified"],
      ["224.0.0.1", "multicast"],
      ["255.255.255.255", "reserved"],
      ["8.8.8.8", null],
      ["::1", "loopback"],
      ["::", "unspecified"],
      ["fe80::1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["fc00::1", "private (unique local)"],
      ["fd12:3456::1", "private (unique local)"],
      ["ff02::1", "multicast"],
      ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
      ["::ffff:a9fe:a9fe", "IPv4-mapped link-local"],
      ["::ffff:8.8.8.8", null],
      ["64:ff9b::a00:1", "IPv4-mapped private"],
      ["2606:4700:4700::1111", null],
      ["not-an-ip", null],
    ];
    for (const [address, expected] of cases) assert.equal(addressClass(address), expected, address);
  });
});

describe("vetHost", () => {
  it("refuses loopback, link-local (cloud metadata), private and IPv6 loopback literals", async () => {
    await refused("127.0.0.1", strict, /download of 127\.0\.0\.1 refused: 127\.0\.0\.1 is loopback/);
    await refused("169.254.169.254", strict, /169\.254\.169\.254 is link-local/);
    await refused("10.0.0.1", strict, /10\.0\.0\.1 is private/);
    await refused("[::1]", strict, /::1 is loopback/);
    await refused("::ffff:127.0.0.1", strict, /is IPv4-mapped loopback/);
  });

  it("refuses a name that resolves to loopback (localhost), naming the name and the address", async () => {
    await refused("localhost", strict, /download of localhost refused: localhost resolves to .+, which is loopback/);
  });

  it("refuses a name when any one of its addresses is not public", async () => {
    const resolve = async (): Promise<LookupAddress[]> => [
      { address: "93.184.216.34", family: 4 },
      { address: "10.1.2.3", family: 4 },
    ];
    await refused("rebind.example", strict, /rebind\.example resolves to 10\.1\.2\.3, which is private/, resolve);
  });

  it("lets allowedHosts (exact names) and allowPrivateNetworks through, and public names always", async () => {
    const loopback = await vetHost("127.0.0.1", { allowPrivateNetworks: false, allowedHosts: ["127.0.0.1"] });
    assert.deepEqual(loopback, [{ address: "127.0.0.1", family: 4 }]);
    await vetHost("LocalHost", { allowPrivateNetworks: false, allowedHosts: ["localhost"] });
    await vetHost("10.0.0.1", { allowPrivateNetworks: true, allowedHosts: [] });
    // Exact names only: allowing one host does not allow another on the same network.
    await refused("127.0.0.2", { allowPrivateNetworks: false, allowedHosts: ["127.0.0.1"] }, /loopback/);
    const publicOnly = async (): Promise<LookupAddress[]> => [{ address: "93.184.216.34", family: 4 }];
    assert.equal((await vetHost("example.org", strict, publicOnly)).length, 1);
  });

  it("turns DNS failures into SOURCE_REJECTED (no such name) or a retryable SOURCE_UNAVAILABLE", async () => {
    const fail = (code: string) => async (): Promise<LookupAddress[]> => {
      throw Object.assign(new Error(`getaddrinfo ${code}`), { code });
    };
    await assert.rejects(vetHost("nope.invalid", strict, fail("ENOTFOUND")), { code: "SOURCE_REJECTED" });
    await assert.rejects(vetHost("flaky.example", strict, fail("EAI_AGAIN")), {
      code: "SOURCE_UNAVAILABLE",
      retryable: true,
    });
  });
});

describe("pinnedLookup", () => {
  it("answers with the vetted addresses only, in both callback forms", async () => {
    const lookup = pinnedLookup([{ address: "93.184.216.34", family: 4 }]);
    const one = await new Promise<unknown[]>((resolve) =>
      lookup("evil.example", { family: 0 }, (...args: unknown[]) => resolve(args)),
    );
    assert.deepEqual(one, [null, "93.184.216.34", 4]);
    const all = await new Promise<unknown[]>((resolve) =>
      lookup("evil.example", { all: true }, (...args: unknown[]) => resolve(args)),
    );
    assert.deepEqual(all, [null, [{ address: "93.184.216.34", family: 4 }]]);
  });
});
