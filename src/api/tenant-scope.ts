import { isSluiceError, SluiceError } from "../contracts/errors.ts";
import type { Job } from "../contracts/index.ts";
import type { Ledger } from "../ledger/ledger.ts";

/** Where jobs are read from (the engine facade). */
type JobSource = Pick<Ledger, "getJob">;
import { collectionNotFound, type IndexStore } from "../store/index-store.ts";
import { DEFAULT_TENANT, type Principal } from "./auth/principal.ts";
import { JOB_DOCUMENTS_PAGE } from "./schemas.ts";

import { TENANT_SEPARATOR, tenantOf } from "../contracts/tenant.ts";

export { TENANT_SEPARATOR, tenantOf };

/**
 * Tenancy at the API boundary; the engine stays tenant-agnostic. Tenant "default" (the
 * embedded default, the CLI) keeps plain collection names; tenant `t` stores collection `c` as
 * `t~c`. Routes translate names in, results and error messages out, and treat another
 * tenant's collection or job as absent (404, never 403, so existence does not leak).
 *
 * @example
 * const scope = TenantScope.of(request.principal);
 * const info = await scope.guard(sluice.store, "docs", () => sluice.stats(scope.internal("docs")));
 */
export class TenantScope {
  readonly tenant: string;

  constructor(tenant: string) {
    this.tenant = tenant;
  }

  /** The scope of the request's caller. */
  static of(principal: Principal): TenantScope {
    return new TenantScope(principal.tenant);
  }

  /** The engine's name for this tenant's collection `collection` (a valid public name). */
  internal(collection: string): string {
    return this.tenant === DEFAULT_TENANT ? collection : `${this.tenant}${TENANT_SEPARATOR}${collection}`;
  }

  /** The public name of an engine collection, or undefined when it is not this tenant's. */
  publicName(internal: string): string | undefined {
    if (tenantOf(internal) !== this.tenant) return undefined;
    return this.tenant === DEFAULT_TENANT ? internal : internal.slice(this.tenant.length + TENANT_SEPARATOR.length);
  }

  /** Rewrites this tenant's internal collection name to its public one inside a message. */
  #scrub(text: string, internal: string, publicName: string): string {
    return internal === publicName ? text : text.replaceAll(internal, publicName);
  }

  /** `COLLECTION_NOT_FOUND` for `collection`, listing only this tenant's collections. */
  async collectionNotFound(store: IndexStore, collection: string): Promise<SluiceError> {
    const known = (await store.listCollections())
      .map((c) => this.publicName(c.name))
      .filter((n): n is string => n !== undefined);
    return collectionNotFound(collection, known);
  }

  /**
   * Runs an engine call on this tenant's `collection` and rewrites what it throws for this
   * caller: a missing collection is reported with this tenant's collections only, and internal
   * names in other messages become the public name.
   */
  async guard<T>(store: IndexStore, collection: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!isSluiceError(err)) throw err;
      if (err.code === "COLLECTION_NOT_FOUND") throw await this.collectionNotFound(store, collection);
      const internal = this.internal(collection);
      if (internal === collection || !err.message.includes(internal)) throw err;
      const details = err.details
        ? { ...err.details, ...(err.details["collection"] === internal ? { collection } : {}) }
        : undefined;
      throw new SluiceError(err.code, this.#scrub(err.message, internal, collection), {
        cause: err,
        ...(details ? { details } : {}),
      });
    }
  }

  /**
   * The job as this tenant sees it (public collection name, scrubbed messages), or undefined when
   * it is another tenant's.
   */
  publicJob(job: Job): Job | undefined {
    const name = this.publicName(job.collection);
    if (name === undefined) return undefined;
    if (name === job.collection) return job;
    const scrub = (text: string) => this.#scrub(text, job.collection, name);
    return {
      ...job,
      collection: name,
      error: job.error === null ? null : scrub(job.error),
      ...(job.documents
        ? {
            documents: job.documents.map((d) => ({
              ...d,
              error: d.error === null ? null : { ...d.error, message: scrub(d.error.message) },
              ...(d.stages
                ? { stages: d.stages.map((s) => ({ ...s, error: s.error === null ? null : scrub(s.error) })) }
                : {}),
            })),
          }
        : {}),
    };
  }

  /**
   * A job of this tenant, with a page of its documents (default the first 1,000), as
   * {@link publicJob} shows it; another tenant's job is `JOB_NOT_FOUND` with the very message of a
   * job that does not exist.
   */
  async job(
    ledger: JobSource,
    jobId: string,
    page: { limit?: number; offset?: number; stages?: boolean } = { limit: JOB_DOCUMENTS_PAGE },
  ): Promise<Job> {
    const job = this.publicJob(await ledger.getJob(jobId, { documents: true, ...page }));
    if (!job) throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
    return job;
  }

  /** Throws `JOB_NOT_FOUND` unless the job is this tenant's (check before changing it). */
  async assertOwnsJob(ledger: JobSource, jobId: string): Promise<void> {
    const job = await ledger.getJob(jobId);
    if (this.publicName(job.collection) === undefined)
      throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
  }
}
