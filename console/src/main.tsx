// The Ordinal console: the pipeline live, streams and their state at any
// version or time, commands and their chains, a command form generated from
// the microservices' schemas, parked batches and replays. One page, routed by
// the URL's hash (#/pipeline, #/streams?id=…, #/commands?key=…&seq=…).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get, token, type Me } from "./api.js";
import { Commands } from "./pages/Commands.js";
import { Failures } from "./pages/Failures.js";
import { Pipeline } from "./pages/Pipeline.js";
import { Replays } from "./pages/Replays.js";
import { SendCommand } from "./pages/SendCommand.js";
import { Streams } from "./pages/Streams.js";
import "./style.css";

export interface Route {
  readonly page: string;
  readonly params: URLSearchParams;
}

const routeOf = (hash: string): Route => {
  const [page = "pipeline", query = ""] = hash.replace(/^#\/?/, "").split("?");
  return { page: page || "pipeline", params: new URLSearchParams(query) };
};

export const go = (page: string, params: Record<string, string> = {}) => {
  const query = new URLSearchParams(params).toString();
  location.hash = `#/${page}${query ? `?${query}` : ""}`;
};

const pages = [
  ["pipeline", "Pipeline"],
  ["streams", "Streams"],
  ["commands", "Commands"],
  ["send", "Send a command"],
  ["failures", "Failures", "admin"],
  ["replays", "Replays", "admin"],
] as const;

/** Admin actions show to the admin role, and to anyone on the open local stack (where the API checks no role). */
export const isAdmin = (me: Me | undefined) => Boolean(me && (me.open || me.roles.includes("admin")));

const TokenBar = ({ me, onChange }: { me: Me | undefined; onChange: () => void }) => {
  const [draft, setDraft] = useState(token.get());
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        token.set(draft.trim());
        onChange();
      }}
    >
      <span data-testid="who">{me ? (me.open ? "open local stack (no --auth): commands say who sends them" : `${me.user} · ${me.roles.join(", ") || "no role"}`) : "not signed in"}</span>
      <input name="token" type="password" placeholder="bearer token (npm run token)" value={draft} onInput={(e) => setDraft((e.target as HTMLInputElement).value)} />
      <button type="submit">Use token</button>
    </form>
  );
};

const App = () => {
  const [route, setRoute] = useState(routeOf(location.hash));
  const [me, setMe] = useState<Me | undefined>();
  const [refused, setRefused] = useState("");
  const whoAmI = async () => {
    const answer = await get<Me & { message?: string }>("/me");
    if (answer.status === 200) {
      setMe(answer.body);
      setRefused("");
    } else {
      setMe(undefined);
      setRefused(answer.body?.message ?? `the API answered ${answer.status}`);
    }
  };
  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash));
    addEventListener("hashchange", onHash);
    void whoAmI();
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const admin = isAdmin(me);
  const page = (() => {
    if (!me) return <p class="problem" data-testid="signin">{refused ? `Sign in: ${refused}` : "…"}</p>;
    switch (route.page) {
      case "streams":
        return <Streams params={route.params} />;
      case "commands":
        return <Commands params={route.params} />;
      case "send":
        return <SendCommand me={me} />;
      case "failures":
        return admin ? <Failures /> : <p class="problem">the failures page needs the admin role</p>;
      case "replays":
        return admin ? <Replays /> : <p class="problem">the replays page needs the admin role</p>;
      default:
        return admin ? <Pipeline /> : <p class="problem">the pipeline's figures need the admin role; streams and commands are open to you</p>;
    }
  })();
  return (
    <>
      <header>
        <strong>Ordinal</strong>
        <nav>
          {pages
            .filter((p) => p[2] !== "admin" || admin)
            .map(([id, label]) => (
              <a href={`#/${id}`} class={route.page === id ? "here" : ""}>
                {label}
              </a>
            ))}
        </nav>
        <TokenBar me={me} onChange={whoAmI} />
      </header>
      <main>{page}</main>
    </>
  );
};

render(<App />, document.getElementById("app")!);
