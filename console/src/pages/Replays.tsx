// Replay jobs: their progress, a form to start one (a rebuild with reset),
// and cancel buttons.
import { useEffect, useState } from "preact/hooks";
import { del, get, post, problemOf } from "../api.js";

interface Job {
  readonly replayId: string;
  readonly handler: string;
  readonly state: string;
  readonly phase: string;
  readonly reset: boolean;
  readonly reason: string;
  readonly objectsTotal: number | null;
  readonly objectsRead: number;
  readonly eventsSent: number;
  readonly eventsApplied: number;
  readonly eventsPerSecond: number;
  readonly etaSeconds: number | null;
  readonly percent: number;
  readonly createdAt: string;
  readonly error?: string;
  readonly statusUrl: string;
}


export const Replays = () => {
  const [jobs, setJobs] = useState<Job[]>();
  const [projections, setProjections] = useState<string[]>([]);
  const [form, setForm] = useState({ handler: "", reset: true });
  const [said, setSaid] = useState("");
  const load = async () => {
    const answer = await get<{ replays: Job[] }>("/admin/replays");
    if (answer.status !== 200) return setSaid(problemOf(answer));
    setJobs(answer.body.replays);
  };
  useEffect(() => {
    void load();
    void (async () => {
      const answer = await get<{ projections: { name: string }[] }>("/microservices");
      const names = (answer.body?.projections ?? []).map((p) => p.name);
      setProjections(names);
      setForm((f) => ({ ...f, handler: names[0] ?? "" }));
    })();
    const timer = setInterval(load, 1000);
    return () => clearInterval(timer);
  }, []);
  const start = async (e: Event) => {
    e.preventDefault();
    setSaid("starting…");
    const answer = await post("/admin/replays", { handler: form.handler, ...(form.reset ? { reset: true } : {}) });
    setSaid(answer.status === 202 ? `started ${answer.body.replayId}` : problemOf(answer));
    await load();
  };
  return (
    <section>
      <h1>Replays</h1>
      <form class="row" onSubmit={start} data-testid="replay-form">
        <select name="handler" value={form.handler} onChange={(e) => setForm({ ...form, handler: (e.target as HTMLSelectElement).value })}>
          {projections.map((p) => <option value={p}>{p}</option>)}
        </select>
        <label><input type="checkbox" name="reset" checked={form.reset} onChange={(e) => setForm({ ...form, reset: (e.target as HTMLInputElement).checked })} /> rebuild (a new generation, swapped in when caught up)</label>
        <button type="submit">Start</button>
        {said && <small data-testid="replay-said">{said}</small>}
      </form>
      <table data-testid="replays">
        <thead>
          <tr><th>replay</th><th>projection</th><th>state</th><th>progress</th><th>events applied</th><th>rate</th><th>left</th><th></th></tr>
        </thead>
        <tbody>
          {(jobs ?? []).map((j) => (
            <tr data-replay={j.replayId} class={j.state === "failed" ? "bad" : ""}>
              <td><code>{j.replayId}</code>{j.reset ? " rebuild" : ""}{j.reason !== "request" ? ` (${j.reason})` : ""}</td>
              <td>{j.handler}</td>
              <td class="state">{j.state}, {j.phase}{j.error ? `: ${j.error}` : ""}</td>
              <td><progress max={100} value={j.percent} /> {j.percent}%</td>
              <td>{j.eventsApplied}/{j.eventsSent}</td>
              <td>{j.eventsPerSecond}/s</td>
              <td>{j.etaSeconds === null ? "?" : `${j.etaSeconds} s`}</td>
              <td>{j.state === "running" && <button type="button" onClick={async () => { const a = await del(j.statusUrl); setSaid(a.status === 200 ? `cancelled ${j.replayId}` : problemOf(a)); await load(); }}>Cancel</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};
