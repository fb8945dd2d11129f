import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InternalCredential } from "./internal-credential.ts";

void describe("InternalCredential", () => {
  const credential = new InternalCredential("service-secret-0123456789abcdef0123456789");

  void it("matches the secret and nothing else, whatever the length", () => {
    assert.equal(credential.matches("service-secret-0123456789abcdef0123456789"), true);
    for (const wrong of [
      "",
      "s",
      "service-secret-0123456789abcdef012345678",
      "service-secret-0123456789abcdef0123456789x",
      "SERVICE-SECRET-0123456789ABCDEF0123456789",
    ]) {
      assert.equal(credential.matches(wrong), false, wrong);
    }
  });
});
