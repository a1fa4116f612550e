// A stream: its event log as a table, its state at any version (a slider) or
// any time (a date picker), and the snapshot's check against a fold of the log.
import { useEffect, useState } from "preact/hooks";
import { get, problemOf, type Answer } from "../api.js";
import { go } from "../main.js";

interface EventRow {
  readonly version: number;
  readonly type: string;
  readonly data: unknown;
  readonly occurredAt: number | string;
  readonly recordedAt: number | string;
  readonly commandKey: string;
  readonly commandSeq: number;
  readonly causationId: string;
  readonly typeVersion?: number;
  readonly storedTypeVersion?: number;
}

const iso = (t: number | string) => new Date(t).toISOString();

/** `datetime-local` gives local time without a zone; the API wants an instant. */
const instantOf = (local: string) => new Date(local).toISOString();

export const Streams = ({ params }: { params: URLSearchParams }) => {
  const id = params.get("id") ?? "";
  const [draft, setDraft] = useState(id);
  const [events, setEvents] = useState<EventRow[]>([]);
  const [problem, setProblem] = useState("");
  const [version, setVersion] = useState(0);
  const [at, setAt] = useState("");
  const [state, setState] = useState<{ version: number; state: unknown } | undefined>();
  const [verify, setVerify] = useState<unknown>();

  useEffect(() => {
    setDraft(id);
    setEvents([]);
    setState(undefined);
    setVerify(undefined);
    if (!id) return;
    void (async () => {
      const all: EventRow[] = [];
      let next: string | undefined = `/streams/${encodeURIComponent(id)}/events?limit=100`;
      while (next) {
        const page: Answer<{ events: EventRow[]; next?: string }> = await get<{ events: EventRow[]; next?: string }>(next);
        if (page.status !== 200) return setProblem(problemOf(page));
        all.push(...page.body.events);
        next = page.body.next;
      }
      setProblem("");
      setEvents(all);
      setVersion(all.length ? all.at(-1)!.version : 0);
    })();
  }, [id]);

  const readState = async (query: string) => {
    const answer = await get<{ version: number; state: unknown }>(`/streams/${encodeURIComponent(id)}/state?${query}`);
    if (answer.status !== 200) return setProblem(problemOf(answer));
    setProblem("");
    setState(answer.body);
  };
  useEffect(() => {
    if (id && events.length) void readState(`version=${version}`);
  }, [version, events]);

  return (
    <section>
      <h1>Streams</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          go("streams", { id: draft.trim() });
        }}
      >
        <input name="streamId" placeholder="stream id: cart:c-42" value={draft} onInput={(e) => setDraft((e.target as HTMLInputElement).value)} />
        <button type="submit">Find</button>
      </form>
      {problem && <p class="problem" data-testid="problem">{problem}</p>}
      {events.length > 0 && (
        <>
          <table data-testid="events">
            <thead>
              <tr><th>version</th><th>type</th><th>data</th><th>occurredAt</th><th>recordedAt</th><th>command</th></tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr>
                  <td>{e.version}</td>
                  <td>{e.type}{e.storedTypeVersion ? ` (stored v${e.storedTypeVersion}, read v${e.typeVersion})` : ""}</td>
                  <td><code>{JSON.stringify(e.data)}</code></td>
                  <td>{iso(e.occurredAt)}</td>
                  <td>{iso(e.recordedAt)}</td>
                  <td><a href={`#/commands?key=${encodeURIComponent(e.commandKey)}&seq=${e.commandSeq}`}>{e.commandKey}/{e.commandSeq}</a></td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>State</h2>
          <div class="row">
            <label>
              at version <strong data-testid="version">{version}</strong>
              <input
                name="version"
                type="range"
                min={1}
                max={events.at(-1)!.version}
                value={version}
                onInput={(e) => setVersion(Number((e.target as HTMLInputElement).value))}
              />
            </label>
            <label>
              or at
              <input name="at" type="datetime-local" step={1} value={at} onChange={(e) => setAt((e.target as HTMLInputElement).value)} />
            </label>
            <button type="button" disabled={!at} onClick={() => readState(`at=${encodeURIComponent(instantOf(at))}`)}>Show state then</button>
            <button
              type="button"
              onClick={async () => {
                const answer = await get(`/streams/${encodeURIComponent(id)}/state?verify=true`);
                setVerify(answer.status === 200 ? answer.body : problemOf(answer));
              }}
            >
              Verify the snapshot
            </button>
          </div>
          {state && (
            <pre data-testid="state">{`version ${state.version}\n${JSON.stringify(state.state, null, 2)}`}</pre>
          )}
          {verify !== undefined && <pre data-testid="verify">{JSON.stringify(verify, null, 2)}</pre>}
        </>
      )}
    </section>
  );
};
