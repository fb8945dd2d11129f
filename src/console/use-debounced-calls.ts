import { useEffect, useRef } from "preact/hooks";

/**
 * Runs `call(key)` at most once per `ms` for each key, however often `schedule(key)` is asked:
 * what turns a burst of stage events into one refresh of the job they belong to.
 */
export function useDebouncedCalls(call: (key: string) => void, ms: number): (key: string) => void {
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const latest = useRef(call);
  latest.current = call;
  useEffect(() => {
    const map = timers.current;
    return () => {
      for (const t of map.values()) clearTimeout(t);
      map.clear();
    };
  }, []);
  return (key: string) => {
    if (timers.current.has(key)) return;
    timers.current.set(
      key,
      setTimeout(() => {
        timers.current.delete(key);
        latest.current(key);
      }, ms),
    );
  };
}
