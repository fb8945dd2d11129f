import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
} from "jose";
import { SluiceError } from "../../contracts/errors.ts";
import type { AuthSettings } from "./auth-settings.ts";
import { parseScopes, type Principal, TenantSchema } from "./principal.ts";

/** Algorithms verified with the shared secret. */
const SECRET_ALGORITHMS = ["HS256"];
/** Algorithms verified with the JWKS. Kept apart from HS256 so a public key can never be used as an HMAC secret. */
const JWKS_ALGORITHMS = ["RS256", "ES256"];
/** Clock skew tolerated on `exp`/`nbf`/`iat`, in seconds. */
const CLOCK_TOLERANCE_S = 5;
/** How long one JWKS fetch may take. */
const JWKS_TIMEOUT_MS = 5_000;

const invalid = (reason: string) => new SluiceError("UNAUTHENTICATED", `invalid token: ${reason}`);

/** jose's failures as Sluice errors: the caller's token → 401; the key set out of reach → 503. */
function fromJose(err: unknown, jwksUrl: string | undefined): SluiceError {
  if (err instanceof errors.JWTExpired) return new SluiceError("UNAUTHENTICATED", "token expired");
  if (err instanceof errors.JWTClaimValidationFailed)
    return invalid(`"${err.claim}" claim check failed (${err.reason})`);
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalid("signature verification failed");
  if (err instanceof errors.JWKSNoMatchingKey) return invalid("no key in the key set matches its kid");
  if (err instanceof errors.JWKSMultipleMatchingKeys)
    return invalid("several keys in the key set match it; give the token a kid");
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return invalid("its algorithm is not accepted");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return invalid("not a well-formed JWT");
  // What is left is the key set: a timeout, a refused connection, a non-200 or not a key set.
  return new SluiceError(
    "AUTH_UNAVAILABLE",
    `cannot check tokens now: the key set${jwksUrl ? ` at ${jwksUrl}` : ""} is unavailable`,
    { cause: err },
  );
}

function principalOf(payload: JWTPayload): Principal {
  if (typeof payload.sub !== "string" || payload.sub === "") throw invalid('no "sub" claim');
  const tenant = payload["tenant"];
  if (typeof tenant !== "string") throw invalid('no "tenant" claim');
  if (!TenantSchema.safeParse(tenant).success)
    throw invalid('"tenant" claim must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  return { sub: payload.sub, tenant, scopes: parseScopes({ scope: payload["scope"], scopes: payload["scopes"] }) };
}

/**
 * Verifies user bearer tokens: HS256 with the shared secret, RS256/ES256 with keys from the JWKS
 * URL (fetched on first use, cached, refetched for an unknown kid), checking `exp` (required),
 * `nbf`, and `iss`/`aud` when configured. The claims become a {@link Principal}: `sub`,
 * `tenant` (both required) and the scopes from `scope` (space-separated) or `scopes` (array).
 * Every refusal is a 401 `UNAUTHENTICATED` SluiceError; an unreachable key set is 503
 * `AUTH_UNAVAILABLE`. The constructor does no I/O.
 *
 * @example
 * const verifier = new JwtVerifier({ jwtSecret: process.env.SLUICE_AUTH_JWT_SECRET });
 * const principal = await verifier.verify(token); // { sub, tenant, scopes }
 */
export class JwtVerifier {
  readonly #secret: Uint8Array | undefined;
  readonly #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  readonly #jwksUrl: string | undefined;
  readonly #options: JWTVerifyOptions;

  constructor(settings: Pick<AuthSettings, "jwtSecret" | "jwksUrl" | "issuer" | "audience">) {
    this.#secret = settings.jwtSecret !== undefined ? new TextEncoder().encode(settings.jwtSecret) : undefined;
    this.#jwksUrl = settings.jwksUrl;
    this.#jwks =
      settings.jwksUrl !== undefined
        ? createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS })
        : undefined;
    this.#options = {
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ["exp", "sub"],
      ...(settings.issuer !== undefined ? { issuer: settings.issuer } : {}),
      ...(settings.audience !== undefined ? { audience: settings.audience } : {}),
    };
  }

  /** Whether any user token can be accepted (a secret or a JWKS is configured). */
  get enabled(): boolean {
    return this.#secret !== undefined || this.#jwks !== undefined;
  }

  /** The caller a token proves, or a 401/503 SluiceError. */
  async verify(token: string): Promise<Principal> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalid("not a well-formed JWT");
    }
    let payload: JWTPayload;
    try {
      // Pick the key by the header's algorithm, and allow only that family for it.
      if (alg !== undefined && SECRET_ALGORITHMS.includes(alg) && this.#secret)
        payload = (await jwtVerify(token, this.#secret, { ...this.#options, algorithms: SECRET_ALGORITHMS })).payload;
      else if (alg !== undefined && JWKS_ALGORITHMS.includes(alg) && this.#jwks)
        payload = (await jwtVerify(token, this.#jwks, { ...this.#options, algorithms: JWKS_ALGORITHMS })).payload;
      else throw invalid(`algorithm ${alg === undefined ? "(none)" : `"${alg}"`} is not accepted`);
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw fromJose(err, this.#jwksUrl);
    }
    return principalOf(payload);
  }
}
