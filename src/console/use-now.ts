import { useEffect, useState } from "preact/hooks";

/** The time, re-read every `ms` while `running` (elapsed clocks and ETAs tick; no data is fetched). */
export function useNow(running: boolean, ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [running, ms]);
  return now;
}
