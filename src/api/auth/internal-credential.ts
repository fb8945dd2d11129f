import { createHash, timingSafeEqual } from "node:crypto";

/** Header a Sluice process sends its service secret in. */
export const INTERNAL_HEADER = "x-sluice-internal";
/** Header an internal caller names the tenant it acts for in (default: "default"). */
export const TENANT_HEADER = "x-sluice-tenant";

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * The service credential Sluice processes present to each other. The check is constant-time:
 * both sides are hashed first, so `timingSafeEqual` compares equal lengths and the time taken
 * says nothing about the secret's length or how much of it matched.
 *
 * @example
 * const credential = new InternalCredential(process.env.SLUICE_INTERNAL_SECRET!);
 * credential.matches(String(request.headers["x-sluice-internal"])); // true or false
 */
export class InternalCredential {
  readonly #expected: Buffer;

  constructor(secret: string) {
    this.#expected = digest(secret);
  }

  /** Whether `presented` is the secret. */
  matches(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.#expected);
  }
}
