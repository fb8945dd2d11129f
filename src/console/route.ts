import { useEffect, useState } from "preact/hooks";

/** The console's pages, addressed by the URL's hash (`#/jobs/<id>`), so `/` is the only HTML route. */
export type Route =
  | { page: "jobs" }
  | { page: "job"; id: string }
  | { page: "pipelines" }
  | { page: "spool" }
  | { page: "models" }
  | { page: "collections"; collection?: string; doc?: string; chunk?: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "jobs" && parts[1]) return { page: "job", id: parts[1] };
  if (parts[0] === "pipelines") return { page: "pipelines" };
  if (parts[0] === "spool") return { page: "spool" };
  if (parts[0] === "models") return { page: "models" };
  if (parts[0] === "collections") {
    const [, collection, doc, chunk] = parts;
    return {
      page: "collections",
      ...(collection ? { collection } : {}),
      ...(doc ? { doc } : {}),
      ...(chunk ? { chunk } : {}),
    };
  }
  return { page: "jobs" };
}

export function href(route: Route): string {
  if (route.page === "job") return `#/jobs/${encodeURIComponent(route.id)}`;
  if (route.page === "collections")
    return ["#/collections", route.collection, route.doc, route.chunk]
      .filter((p): p is string => p !== undefined)
      .map((p, i) => (i === 0 ? p : encodeURIComponent(p)))
      .join("/");
  return `#/${route.page}`;
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
