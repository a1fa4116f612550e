// A form to send a command, generated from the microservice's schemas
// (GET /microservices: each command's payload as JSON Schema), showing the
// outcome when it comes (POST /command?wait=5).
import { useEffect, useState } from "preact/hooks";
import { get, post, problemOf, type Me } from "../api.js";

interface JsonSchema {
  readonly type?: string;
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly default?: unknown;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly description?: string;
}
interface Catalog {
  readonly microservices: { name: string; partitionBy: string; singleAggregate?: string; commands: { name: string; payload: JsonSchema; roles?: string[] }[] }[];
}

/** A field's text as the payload wants it: numbers as numbers, booleans as booleans, empty as absent. */
const valueOf = (schema: JsonSchema, text: string | boolean): unknown => {
  if (schema.type === "boolean") return Boolean(text);
  if (text === "") return undefined;
  if (schema.type === "integer" || schema.type === "number") return Number(text);
  return text;
};

const Field = ({ name, schema, required, value, onChange }: { name: string; schema: JsonSchema; required: boolean; value: string | boolean; onChange: (v: string | boolean) => void }) => {
  const hint = [
    schema.type,
    schema.pattern && `pattern ${schema.pattern}`,
    schema.minimum !== undefined && `≥ ${schema.minimum}`,
    schema.exclusiveMinimum !== undefined && `> ${schema.exclusiveMinimum}`,
    schema.minLength !== undefined && `${schema.minLength}+ characters`,
    schema.default !== undefined && `default ${JSON.stringify(schema.default)}`,
    required ? "required" : "optional",
  ].filter(Boolean).join(", ");
  const input = schema.enum ? (
    <select name={`payload.${name}`} value={String(value)} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
      <option value="">—</option>
      {schema.enum.map((v) => <option value={String(v)}>{String(v)}</option>)}
    </select>
  ) : schema.type === "boolean" ? (
    <input name={`payload.${name}`} type="checkbox" checked={Boolean(value)} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} />
  ) : (
    schema.type === "integer" || schema.type === "number" ? (
      <input name={`payload.${name}`} type="number" required={required} value={String(value)} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />
    ) : (
      <input name={`payload.${name}`} type="text" required={required} pattern={schema.pattern} value={String(value)} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />
    )
  );
  return (
    <label class="field">
      <span>{name}</span>
      {input}
      <small>{hint}</small>
    </label>
  );
};

export const SendCommand = ({ me }: { me: Me }) => {
  // Only what the API would take from this caller: a command that needs a role it lacks is not offered.
  const allowed = (c: { roles?: string[] }) => me.open || !c.roles || c.roles.some((role) => me.roles.includes(role));
  const [catalog, setCatalog] = useState<Catalog>();
  const [problem, setProblem] = useState("");
  const [choice, setChoice] = useState({ microservice: "", command: "" });
  const [envelope, setEnvelope] = useState({ aggregateId: "", id: "", user: "u-1", roles: "" });
  const [fields, setFields] = useState<Record<string, string | boolean>>({});
  const [result, setResult] = useState<any>();
  useEffect(() => {
    void (async () => {
      const answer = await get<Catalog>("/microservices");
      if (answer.status !== 200) return setProblem(problemOf(answer));
      setCatalog(answer.body);
      const first = answer.body.microservices[0];
      if (first) setChoice({ microservice: first.name, command: first.commands.find(allowed)?.name ?? "" });
    })();
  }, []);
  if (!catalog) return problem ? <p class="problem">{problem}</p> : <p>…</p>;
  const microservice = catalog.microservices.find((m) => m.name === choice.microservice);
  const command = microservice?.commands.find((c) => c.name === choice.command);
  const properties = Object.entries(command?.payload.properties ?? {});
  const send = async (e: Event) => {
    e.preventDefault();
    if (!microservice || !command) return;
    const payload = Object.fromEntries(properties.flatMap(([name, schema]) => {
      const value = valueOf(schema, fields[name] ?? "");
      return value === undefined ? [] : [[name, value]];
    }));
    const body = {
      type: microservice.name,
      command: command.name,
      ...(envelope.aggregateId ? { aggregateId: envelope.aggregateId } : {}),
      id: envelope.id || crypto.randomUUID(),
      ...(me.open ? { user: envelope.user, ...(envelope.roles ? { roles: envelope.roles.split(",").map((r) => r.trim()).filter(Boolean) } : {}) } : {}),
      ...(properties.length ? { payload } : {}),
    };
    setResult({ status: "sending…" });
    const answer = await post("/command?wait=5", body);
    setResult(answer.status < 300 || answer.status === 409 ? answer.body : { status: "refused", problem: problemOf(answer) });
  };
  return (
    <section>
      <h1>Send a command</h1>
      <form onSubmit={send} class="form" data-testid="command-form">
        <label class="field">
          <span>microservice</span>
          <select name="microservice" value={choice.microservice} onChange={(e) => {
            const name = (e.target as HTMLSelectElement).value;
            setChoice({ microservice: name, command: catalog.microservices.find((m) => m.name === name)?.commands.find(allowed)?.name ?? "" });
            setFields({});
          }}>
            {catalog.microservices.map((m) => <option value={m.name}>{m.name}</option>)}
          </select>
        </label>
        <label class="field">
          <span>command</span>
          <select name="command" value={choice.command} onChange={(e) => { setChoice({ ...choice, command: (e.target as HTMLSelectElement).value }); setFields({}); }}>
            {microservice?.commands.filter(allowed).map((c) => <option value={c.name}>{c.name}{c.roles ? ` (${c.roles.join(" or ")})` : ""}</option>)}
          </select>
        </label>
        <label class="field">
          <span>aggregateId</span>
          <input name="aggregateId" value={envelope.aggregateId} placeholder={microservice?.singleAggregate ? `leave empty: ${microservice.singleAggregate}` : "required"} onInput={(e) => setEnvelope({ ...envelope, aggregateId: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field">
          <span>id</span>
          <input name="id" value={envelope.id} placeholder="request id (a new one if empty)" onInput={(e) => setEnvelope({ ...envelope, id: (e.target as HTMLInputElement).value })} />
        </label>
        {me.open && (
          <>
            <label class="field"><span>user</span><input name="user" value={envelope.user} onInput={(e) => setEnvelope({ ...envelope, user: (e.target as HTMLInputElement).value })} /></label>
            <label class="field"><span>roles</span><input name="roles" value={envelope.roles} placeholder="comma-separated" onInput={(e) => setEnvelope({ ...envelope, roles: (e.target as HTMLInputElement).value })} /></label>
          </>
        )}
        <fieldset>
          <legend>payload</legend>
          {properties.length === 0 && <small>none</small>}
          {properties.map(([name, schema]) => (
            <Field name={name} schema={schema} required={command?.payload.required?.includes(name) ?? false} value={fields[name] ?? ""} onChange={(v) => setFields({ ...fields, [name]: v })} />
          ))}
        </fieldset>
        <button type="submit">Send</button>
      </form>
      {result && (
        <div data-testid="result" class={`status ${result.status}`}>
          <strong>{result.status}</strong> {result.problem ?? result.reason ?? ""}
          {result.outcomeUrl && (
            <>
              {" · "}<a href={`#/commands?key=${encodeURIComponent(result.key)}&seq=${result.seq}`}>the outcome</a>
              {result.streamId && <>{" · "}<a href={`#/streams?id=${encodeURIComponent(result.streamId)}`}>the stream</a></>}
            </>
          )}
          <pre>{JSON.stringify(result, null, 2)}</pre>
        </div>
      )}
    </section>
  );
};
