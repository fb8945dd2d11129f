/**
 * API authentication and scopes: JWT bearer tokens (HS256 secret or JWKS), the internal service
 * credential, the per-route scope table, and the `sluice serve` startup rules.
 *
 * @example
 * import { registerAuth, resolveAuthSettings } from "./auth/index.ts";
 * registerAuth(app, await resolveAuthSettings({ config: sluice.config.auth, env: process.env, cwd: sluice.cwd }));
 */
export {
  type AuthSettings,
  authEnabled,
  INTERNAL_SECRET_ENV,
  JWT_SECRET_ENV,
  resolveAuthSettings,
} from "./auth-settings.ts";
export { registerAuth, SECURITY_SCHEME } from "./authenticate.ts";
export { INTERNAL_HEADER, InternalCredential, TENANT_HEADER } from "./internal-credential.ts";
export { JwtVerifier } from "./jwt-verifier.ts";
export {
  DEFAULT_TENANT,
  EMBEDDED_PRINCIPAL,
  parseScopes,
  type Principal,
  type Scope,
  SCOPES,
  TenantSchema,
} from "./principal.ts";
export { routePolicy, type RoutePolicy } from "./route-scopes.ts";
export { signToken, type TokenRequest } from "./sign-token.ts";
export { assertServeSecurity, isLoopbackHost, MIN_SECRET_BYTES, weakSecretReason } from "./startup-check.ts";
