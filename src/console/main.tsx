import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { getToken, setToken } from "./api.ts";
import { TokenForm } from "./components/token-form.tsx";
import { JobPage } from "./pages/job-page.tsx";
import { JobsPage } from "./pages/jobs-page.tsx";
import { href, useRoute } from "./route.ts";
import "./styles.css";

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
  const key = `${hasToken}-${route.page === "job" ? route.id : "jobs"}`;
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
        </nav>
        {hasToken && (
          <button type="button" class="link" onClick={() => setToken(null)}>
            Sign out
          </button>
        )}
      </header>
      {needsToken ? <TokenForm /> : route.page === "job" ? <JobPage key={key} id={route.id} /> : <JobsPage key={key} />}
    </>
  );
}

render(<App />, document.getElementById("app")!);
