import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";

/**
 * An OpenTelemetry context manager over `AsyncLocalStorage`: the active span follows awaits,
 * timers and callbacks, so a model call made deep inside a stage sees that stage's span. (The
 * same job as `@opentelemetry/context-async-hooks`, in a few lines of our own rather than one
 * more dependency.)
 *
 * @example
 * context.setGlobalContextManager(new AsyncContextManager().enable());
 */
export class AsyncContextManager implements ContextManager {
  #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const bound = thisArg === undefined ? fn : (fn.bind(thisArg) as F);
    return this.#storage.run(context, bound, ...args);
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== "function") return target;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper needs its own `this` for the target.
    const manager = this;
    const fn = target as (...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    this.#storage = new AsyncLocalStorage<Context>();
    return this;
  }
}
