import { useEffect, useState } from "preact/hooks";

/** The console's pages, addressed by the URL's hash (`#/jobs/<id>`), so `/` is the only HTML route. */
export type Route = { page: "jobs" } | { page: "job"; id: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "jobs" && parts[1]) return { page: "job", id: parts[1] };
  return { page: "jobs" };
}

export function href(route: Route): string {
  return route.page === "job" ? `#/jobs/${encodeURIComponent(route.id)}` : "#/jobs";
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
