// The pipeline, live: commands in and outcomes by status per second, each
// consumer's lag and the parked batches, polled from GET /admin/pipeline.
import { useEffect, useState } from "preact/hooks";
import { get, problemOf } from "../api.js";
import { Chart } from "../chart.js";

interface Report {
  readonly at: number;
  readonly series: { at: number[]; commands: number[]; accepted: number[]; rejected: number[]; duplicate: number[] };
  readonly totals: { commands: number; accepted: number; rejected: number; duplicate: number };
  readonly consumers: { consumer: string; source: string; lagMs: number }[];
  readonly parked: { destination: string; count: number }[];
}

/** Keeps the last `keep` samples of each consumer's lag, as the page polls. */
const LAG_KEEP = 300;

export const Pipeline = () => {
  const [report, setReport] = useState<Report>();
  const [problem, setProblem] = useState("");
  const [lags, setLags] = useState<{ at: number[]; byConsumer: Record<string, number[]> }>({ at: [], byConsumer: {} });
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      const answer = await get<Report>("/admin/pipeline");
      if (stopped) return;
      if (answer.status !== 200) setProblem(problemOf(answer));
      else {
        setProblem("");
        setReport(answer.body);
        setLags((before) => {
          const at = [...before.at, answer.body.at / 1000].slice(-LAG_KEEP);
          const byConsumer: Record<string, number[]> = {};
          for (const c of answer.body.consumers) byConsumer[c.consumer] = [...(before.byConsumer[c.consumer] ?? before.at.map(() => 0)), c.lagMs].slice(-LAG_KEEP);
          return { at, byConsumer };
        });
      }
      if (!stopped) setTimeout(poll, 1000);
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, []);
  if (problem) return <p class="problem">{problem}</p>;
  if (!report) return <p>…</p>;
  const { series, totals } = report;
  const colors = ["#2563eb", "#16a34a", "#dc2626", "#ca8a04", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c"];
  const consumers = Object.keys(lags.byConsumer);
  const parkedTotal = report.parked.reduce((sum, p) => sum + p.count, 0);
  return (
    <section>
      <h1>Pipeline</h1>
      <p class="figures" data-testid="totals">
        {totals.commands} commands in · {totals.accepted} accepted · {totals.rejected} rejected · {totals.duplicate} duplicate · {parkedTotal} parked
      </p>
      <div class="charts">
        <Chart
          title="Commands in and outcomes per second"
          testId="throughput-chart"
          series={[
            { label: "commands in", color: colors[0]! },
            { label: "accepted", color: colors[1]! },
            { label: "rejected", color: colors[2]! },
            { label: "duplicate", color: colors[3]! },
          ]}
          data={[series.at, series.commands, series.accepted, series.rejected, series.duplicate]}
        />
        {lags.at.length > 1 && consumers.length > 0 && (
          <Chart
            title="Consumers' lag (ms)"
            testId="lag-chart"
            series={consumers.map((c, i) => ({ label: c, color: colors[i % colors.length]! }))}
            data={[lags.at, ...consumers.map((c) => lags.byConsumer[c]!)]}
          />
        )}
      </div>
      <div class="columns">
        <table data-testid="consumers">
          <thead>
            <tr><th>consumer</th><th>reads</th><th>lag</th></tr>
          </thead>
          <tbody>
            {report.consumers.map((c) => (
              <tr><td>{c.consumer}</td><td>{c.source}</td><td>{c.lagMs === 0 ? "caught up" : `${(c.lagMs / 1000).toFixed(1)} s`}</td></tr>
            ))}
          </tbody>
        </table>
        <table data-testid="parked">
          <thead>
            <tr><th>failure destination</th><th>parked batches</th></tr>
          </thead>
          <tbody>
            {report.parked.map((p) => (
              <tr class={p.count ? "bad" : ""}><td>{p.destination}</td><td>{p.count}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
};
