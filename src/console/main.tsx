import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { getToken, setToken } from "./api.ts";
import { TokenForm } from "./components/token-form.tsx";
import { JobPage } from "./pages/job-page.tsx";
import { CollectionsPage } from "./pages/collections-page.tsx";
import { JobsPage } from "./pages/jobs-page.tsx";
import { ModelsPage } from "./pages/models-page.tsx";
import { PipelinesPage } from "./pages/pipelines-page.tsx";
import { SpoolPage } from "./pages/spool-page.tsx";
import { href, type Route, useRoute } from "./route.ts";
import "./styles.css";

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "job":
      return <JobPage id={route.id} />;
    case "pipelines":
      return <PipelinesPage />;
    case "spool":
      return <SpoolPage />;
    case "models":
      return <ModelsPage />;
    case "collections":
      return <CollectionsPage {...route} />;
    default:
      return <JobsPage />;
  }
}

/** The console's frame: header, navigation, the page the hash names, and the token prompt when the API asks for one. */
function App() {
  const route = useRoute();
  const [needsToken, setNeedsToken] = useState(false);
  const [hasToken, setHasToken] = useState(getToken() !== null);
  useEffect(() => {
    const ask = () => setNeedsToken(true);
    const changed = () => {
      setHasToken(getToken() !== null);
      setNeedsToken(false);
    };
    window.addEventListener("sluice:unauthorized", ask);
    window.addEventListener("sluice:token", changed);
    return () => {
      window.removeEventListener("sluice:unauthorized", ask);
      window.removeEventListener("sluice:token", changed);
    };
  }, []);
  // A new page (or job) mounts afresh; moving within the collections page keeps its state.
  const key = `${hasToken}-${route.page === "job" ? route.id : route.page}`;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href({ page: "jobs" })}>
          Sluice
        </a>
        <nav aria-label="Console">
          <a href={href({ page: "jobs" })} aria-current={route.page === "jobs" ? "page" : undefined}>
            Jobs
          </a>
          <a href={href({ page: "pipelines" })} aria-current={route.page === "pipelines" ? "page" : undefined}>
            Pipelines
          </a>
          <a href={href({ page: "collections" })} aria-current={route.page === "collections" ? "page" : undefined}>
            Collections
          </a>
          <a href={href({ page: "spool" })} aria-current={route.page === "spool" ? "page" : undefined}>
            Spool
          </a>
          <a href={href({ page: "models" })} aria-current={route.page === "models" ? "page" : undefined}>
            Models
          </a>
        </nav>
        {hasToken && (
          <button type="button" class="link" onClick={() => setToken(null)}>
            Sign out
          </button>
        )}
      </header>
      {needsToken ? <TokenForm /> : <Page key={key} route={route} />}
    </>
  );
}

render(<App />, document.getElementById("app")!);
