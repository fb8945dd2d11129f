import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SluiceError } from "../../contracts/errors.ts";
import { toDocSchema } from "../doc-schema.ts";
import { ErrorBodySchema } from "../schemas.ts";
import { type AuthSettings, authEnabled } from "./auth-settings.ts";
import { INTERNAL_HEADER, InternalCredential, TENANT_HEADER } from "./internal-credential.ts";
import { JwtVerifier } from "./jwt-verifier.ts";
import {
  DEFAULT_TENANT,
  EMBEDDED_PRINCIPAL,
  type Principal,
  PUBLIC_PRINCIPAL,
  SCOPES,
  TenantSchema,
} from "./principal.ts";
import { routePolicy } from "./route-scopes.ts";

/** Name of the security scheme in `/openapi.json` (declared in `app.ts`'s swagger options). */
export const SECURITY_SCHEME = "bearerAuth";

const REALM = 'Bearer realm="sluice"';
// RFC 6750 token68 syntax.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** A 401 that tells the client how to authenticate (RFC 9110 §11.6.1 requires WWW-Authenticate). */
function unauthenticated(reply: FastifyReply, message: string, tokenGiven: boolean): SluiceError {
  void reply.header("www-authenticate", tokenGiven ? `${REALM}, error="invalid_token"` : REALM);
  return new SluiceError("UNAUTHENTICATED", message);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * Installs authentication and scope checks on the root instance, as one `onRequest` hook, so
 * they run before any body is read. With auth off (no JWT secret, JWKS or internal secret) every
 * request is tenant "default" with every scope. With auth on, each route's scopes come from
 * {@link routePolicy}; the caller proves itself with `Authorization: Bearer <JWT>` or, between
 * Sluice processes, `x-sluice-internal: <secret>` (+ optional `x-sluice-tenant`). No or a bad
 * credential → 401 `UNAUTHENTICATED` with `WWW-Authenticate: Bearer`; a valid one without the
 * scope → 403 `PERMISSION_DENIED`. Requests that match no route fall through to the 404
 * handler. Handlers read the caller from `request.principal`. Call it on the root instance
 * before registering routes (so protected routes are documented with the security scheme).
 *
 * @example
 * registerAuth(app, await resolveAuthSettings({ config: sluice.config.auth, env: process.env, cwd: sluice.cwd }));
 */
export function registerAuth(app: FastifyInstance, settings: AuthSettings): void {
  // Until the hook has run (or if a later change skipped it), a request is nobody with no scopes.
  const principals = new WeakMap<FastifyRequest, Principal>();
  app.decorateRequest("principal", {
    getter(this: FastifyRequest) {
      return principals.get(this) ?? PUBLIC_PRINCIPAL;
    },
    setter(this: FastifyRequest, value: Principal) {
      principals.set(this, value);
    },
  });
  if (!authEnabled(settings)) {
    app.addHook("onRequest", async (request) => {
      request.principal = EMBEDDED_PRINCIPAL;
    });
    return;
  }
  const verifier = new JwtVerifier(settings);
  const internal = settings.internalSecret !== undefined ? new InternalCredential(settings.internalSecret) : undefined;

  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Principal> {
    const presented = single(request.headers[INTERNAL_HEADER]);
    if (presented !== undefined) {
      if (!internal?.matches(presented)) throw unauthenticated(reply, "invalid internal credential", true);
      const tenant = single(request.headers[TENANT_HEADER]) ?? DEFAULT_TENANT;
      if (!TenantSchema.safeParse(tenant).success)
        throw new SluiceError(
          "VALIDATION_FAILED",
          `invalid request: header "${TENANT_HEADER}": must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
        );
      return { sub: "internal", tenant, scopes: SCOPES };
    }
    const header = request.headers.authorization;
    if (header === undefined || header === "")
      throw unauthenticated(reply, 'authentication required: send "Authorization: Bearer <token>"', false);
    const match = BEARER.exec(header);
    if (!match?.[1]) throw unauthenticated(reply, 'malformed Authorization header: expected "Bearer <token>"', false);
    if (!verifier.enabled)
      throw unauthenticated(reply, "this server accepts no user tokens (no JWT secret or JWKS configured)", true);
    try {
      return await verifier.verify(match[1]);
    } catch (err) {
      if (err instanceof SluiceError && err.code === "UNAUTHENTICATED")
        void reply.header("www-authenticate", `${REALM}, error="invalid_token"`);
      throw err;
    }
  }

  app.addHook("onRequest", async (request, reply) => {
    const url = request.routeOptions.url;
    // No route: nothing to protect, and the 404 handler answers.
    if (url === undefined) {
      request.principal = PUBLIC_PRINCIPAL;
      return;
    }
    const policy = routePolicy(request.method, url);
    if (policy.public) {
      request.principal = PUBLIC_PRINCIPAL;
      return;
    }
    const principal = await authenticate(request, reply);
    if (!policy.anyOf.some((scope) => principal.scopes.includes(scope))) {
      const wanted = policy.anyOf.map((s) => `"${s}"`).join(" or ");
      void reply.header("www-authenticate", `${REALM}, error="insufficient_scope", scope="${policy.anyOf.join(" ")}"`);
      throw new SluiceError(
        "PERMISSION_DENIED",
        `the token of "${principal.sub}" lacks the ${wanted} scope that ${request.method} ${url} needs (it has: ${principal.scopes.join(", ") || "none"})`,
      );
    }
    request.principal = principal;
  });

  // Document the credential and the 401/403 answers on every protected route.
  const errorDoc = toDocSchema(ErrorBodySchema, "output");
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.every((m) => routePolicy(m, route.url).public)) return;
    const schema = route.schema ?? {};
    const response = (schema.response ?? {}) as Record<number, unknown>;
    route.schema = {
      ...schema,
      security: [{ [SECURITY_SCHEME]: [] }],
      response: {
        ...response,
        401: { ...errorDoc, description: "Unauthorized" },
        403: { ...errorDoc, description: "Forbidden" },
      },
    };
  });
}
