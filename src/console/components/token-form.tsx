import { useState } from "preact/hooks";
import { setToken } from "../api.ts";

/** Asks for an API token (a JWT from `sluice token create`) when the server wants one; kept in this browser only. */
export function TokenForm() {
  const [value, setValue] = useState("");
  return (
    <form
      class="card token"
      aria-labelledby="token-title"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim() || null);
      }}
    >
      <h2 id="token-title">Sign in</h2>
      <p>
        This server asks for a token. Paste one made by <code>sluice token create</code> (it stays in this browser's
        local storage).
      </p>
      <label>
        Token
        <input
          type="password"
          autoComplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          required
        />
      </label>
      <button type="submit">Use token</button>
    </form>
  );
}
