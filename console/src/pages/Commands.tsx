// A command: its outcome, and the chain of commands and events that led to
// it (correlation and causation), drawn oldest first.
import { useEffect, useState } from "preact/hooks";
import { get, problemOf } from "../api.js";
import { go } from "../main.js";

type Step =
  | { kind: "command"; ref: string; key: string; seq: number; status: string; command?: string; microservice?: string }
  | { kind: "event"; ref: string; type: string; streamId: string; version: number }
  | { kind: "missing" | "more"; ref: string; reason: string };

const labelOf = (step: Step): [string, string] => {
  if (step.kind === "command") return [`${step.microservice ?? ""}.${step.command ?? "?"}`, `${step.ref} · ${step.status}`];
  if (step.kind === "event") return [step.type, step.ref];
  return [step.kind, step.ref];
};

const linkOf = (step: Step) =>
  step.kind === "command" ? `#/commands?key=${encodeURIComponent(step.key)}&seq=${step.seq}` : step.kind === "event" ? `#/streams?id=${encodeURIComponent(step.streamId)}` : undefined;

/** The chain as boxes joined by arrows, the cause on the left of what it caused. */
export const ChainGraph = ({ steps }: { steps: readonly Step[] }) => {
  const width = 190;
  const gap = 40;
  const height = 56;
  return (
    <svg data-testid="chain" width={steps.length * (width + gap)} height={height + 10} role="img" aria-label="the command's chain">
      <defs>
        <marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">
          <path d="M0,0 L8,4 L0,8 z" fill="#64748b" />
        </marker>
      </defs>
      {steps.map((step, i) => {
        const x = i * (width + gap);
        const [title, sub] = labelOf(step);
        const href = linkOf(step);
        const box = (
          <g>
            <rect x={x} y={4} width={width} height={height} rx={6} class={`step ${step.kind}`} />
            <text x={x + 8} y={26} class="title">{title.slice(0, 26)}</text>
            <text x={x + 8} y={46} class="sub">{sub.slice(0, 30)}</text>
          </g>
        );
        return (
          <g>
            {href ? <a href={href}>{box}</a> : box}
            {i < steps.length - 1 && <line x1={x + width} y1={4 + height / 2} x2={x + width + gap - 4} y2={4 + height / 2} stroke="#64748b" marker-end="url(#arrow)" />}
          </g>
        );
      })}
    </svg>
  );
};

export const Commands = ({ params }: { params: URLSearchParams }) => {
  const key = params.get("key") ?? "";
  const seq = params.get("seq") ?? "";
  const [draft, setDraft] = useState({ key, seq });
  const [outcome, setOutcome] = useState<any>();
  const [problem, setProblem] = useState("");
  useEffect(() => {
    setDraft({ key, seq });
    setOutcome(undefined);
    if (!key || !seq) return;
    void (async () => {
      const answer = await get(`/commands/${encodeURIComponent(key)}/${seq}`);
      if (answer.status !== 200) return setProblem(problemOf(answer));
      setProblem("");
      setOutcome(answer.body);
    })();
  }, [key, seq]);
  // The chain from the API runs from the nearest cause back; drawn oldest first, then the command itself.
  const steps: Step[] = outcome
    ? [...[...(outcome.chain ?? [])].reverse(), { kind: "command", ref: `${outcome.key}/${outcome.seq}`, key: outcome.key, seq: outcome.seq, status: outcome.status, command: outcome.command, microservice: outcome.streamId?.split(":")[0] }]
    : [];
  return (
    <section>
      <h1>Commands</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          go("commands", { key: draft.key.trim(), seq: draft.seq.trim() });
        }}
      >
        <input name="key" placeholder="command key: cart:c-42" value={draft.key} onInput={(e) => setDraft({ ...draft, key: (e.target as HTMLInputElement).value })} />
        <input name="seq" placeholder="seq" size={6} value={draft.seq} onInput={(e) => setDraft({ ...draft, seq: (e.target as HTMLInputElement).value })} />
        <button type="submit">Show</button>
      </form>
      {problem && <p class="problem">{problem}</p>}
      {outcome && (
        <>
          <p data-testid="outcome" class={`status ${outcome.status}`}>
            {outcome.command} on {outcome.streamId}: <strong>{outcome.status}</strong>
            {outcome.reason ? ` (${outcome.reason}: ${outcome.message})` : ""} · correlation {outcome.correlationId}
          </p>
          {outcome.streamId && <p><a href={`#/streams?id=${encodeURIComponent(outcome.streamId)}`}>the stream {outcome.streamId}</a></p>}
          <h2>Chain</h2>
          <ChainGraph steps={steps} />
          <pre>{JSON.stringify(outcome, null, 2)}</pre>
        </>
      )}
    </section>
  );
};
