// Parked batches per failure destination (with their errors, where the
// deployment keeps them) and dead letters, each with a redrive button.
import { useEffect, useState } from "preact/hooks";
import { get, post, problemOf } from "../api.js";

interface Queue {
  readonly queue: string;
  readonly kind: "move" | "parked";
  readonly target: string;
  readonly count: number;
  readonly batches?: { consumer: string; shardId: string; records: number; error: string; attempts: number; parkedAt?: string }[];
}

export const Failures = () => {
  const [queues, setQueues] = useState<Queue[]>();
  const [problem, setProblem] = useState("");
  const [said, setSaid] = useState<Record<string, string>>({});
  const load = async () => {
    const answer = await get<{ queues: Queue[] }>("/admin/parked");
    if (answer.status !== 200) return setProblem(problemOf(answer));
    setProblem("");
    setQueues(answer.body.queues);
  };
  useEffect(() => {
    void load();
    const timer = setInterval(load, 2000);
    return () => clearInterval(timer);
  }, []);
  const redrive = async (queue: string) => {
    setSaid({ ...said, [queue]: "redriving…" });
    const answer = await post("/admin/redrive", { queue });
    setSaid({ ...said, [queue]: answer.status === 200 ? `moved ${answer.body.moved}${answer.body.note ? `: ${answer.body.note}` : ""}` : problemOf(answer) });
    await load();
  };
  if (problem) return <p class="problem">{problem}</p>;
  if (!queues) return <p>…</p>;
  const waiting = queues.filter((q) => q.count > 0);
  return (
    <section>
      <h1>Failures</h1>
      <p data-testid="parked-summary">{waiting.length === 0 ? "nothing is parked" : `${waiting.reduce((n, q) => n + q.count, 0)} parked in ${waiting.map((q) => q.queue).join(", ")}`}</p>
      <table data-testid="failures">
        <thead>
          <tr><th>queue</th><th>goes back to</th><th>holds</th><th>errors</th><th></th></tr>
        </thead>
        <tbody>
          {queues.map((q) => (
            <tr class={q.count ? "bad" : ""} data-queue={q.queue}>
              <td>{q.queue}</td>
              <td>{q.kind === "move" ? `queue ${q.target}` : `consumer ${q.target}`}</td>
              <td>{q.count}</td>
              <td>{(q.batches ?? []).map((b) => <div class="error">{b.records} records of {b.shardId}, {b.attempts} attempts: {b.error}</div>)}</td>
              <td>
                {q.count > 0 && <button type="button" onClick={() => redrive(q.queue)}>Redrive</button>}
                {said[q.queue] && <small> {said[q.queue]}</small>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};
