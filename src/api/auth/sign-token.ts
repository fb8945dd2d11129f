import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { SluiceError } from "../../contracts/errors.ts";
import { type Scope, TenantSchema } from "./principal.ts";

/** What {@link signToken} puts in a token. */
export interface TokenRequest {
  /** HS256 secret (the server's SLUICE_AUTH_JWT_SECRET). */
  secret: string;
  sub: string;
  tenant: string;
  scopes: readonly Scope[];
  /** Lifetime in seconds. */
  ttlSeconds: number;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Issue time; default now. */
  now?: Date;
}

/**
 * Signs an HS256 user token the API accepts: `sub`, `tenant`, `scope` (space-separated),
 * `iat`, `exp`, a random `jti`, and `iss`/`aud` when given.
 *
 * @example
 * const { token, expiresAt } = await signToken({
 *   secret,
 *   sub: "alice",
 *   tenant: "acme",
 *   scopes: ["query"],
 *   ttlSeconds: 3600,
 * });
 */
export async function signToken(request: TokenRequest): Promise<{ token: string; expiresAt: Date }> {
  if (request.sub === "") throw new SluiceError("VALIDATION_FAILED", "the token needs a subject (--sub)");
  if (!TenantSchema.safeParse(request.tenant).success)
    throw new SluiceError(
      "VALIDATION_FAILED",
      `invalid tenant "${request.tenant}": must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds <= 0)
    throw new SluiceError("VALIDATION_FAILED", "the token lifetime must be a positive whole number of seconds");
  const iat = Math.floor((request.now ?? new Date()).getTime() / 1000);
  const exp = iat + request.ttlSeconds;
  let jwt = new SignJWT({ tenant: request.tenant, scope: request.scopes.join(" ") })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID());
  if (request.issuer !== undefined) jwt = jwt.setIssuer(request.issuer);
  if (request.audience !== undefined) jwt = jwt.setAudience(request.audience);
  return { token: await jwt.sign(new TextEncoder().encode(request.secret)), expiresAt: new Date(exp * 1000) };
}
