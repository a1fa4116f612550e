// The pipeline's metrics, as CloudWatch's embedded metric format carries them:
// what the dashboard searches for, published at the end of every invocation.
import { Metrics } from "@aws-lambda-powertools/metrics";
import { describe, expect, it, vi } from "vitest";
import type { Store } from "../core/dynamo.js";
import { makeHandler as makeCommandRoute } from "../functions/command.js";
import { countBy, METRICS_NAMESPACE, metricsFromEnv, publishing } from "../functions/metrics.js";
import { outcomeMetric } from "../stacks/monitoring.js";
import { referenceApp } from "./support/app.js";
import { answerOf, httpEvent } from "./support/http-events.js";

/** Metrics whose published EMF documents are kept instead of printed. */
const recorded = () => {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "ordinal" });
  const published: any[] = [];
  vi.spyOn(metrics, "publishStoredMetrics").mockImplementation(() => {
    published.push(metrics.serializeMetrics());
    metrics.clearMetrics();
    metrics.clearDimensions();
    return metrics;
  });
  return { metrics, published };
};

const metricNames = (emf: any) => emf._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name);

describe("metrics", () => {
  it("are published only on Lambda, where AWS_LAMBDA_FUNCTION_NAME is set", () => {
    expect(metricsFromEnv({})).toBeUndefined();
    expect(metricsFromEnv({ AWS_LAMBDA_FUNCTION_NAME: "f" })).toBeInstanceOf(Metrics);
  });

  it("count each appended command by microservice, published with the invocation", async () => {
    const { metrics, published } = recorded();
    const store = {
      db: { send: async () => ({ Attributes: { seq: 1 } }) },
      tables: { commands: "commands" },
    } as unknown as Store;
    const route = makeCommandRoute({ store, app: referenceApp, clock: () => 0, endpoints: {}, identityFromBody: true, metrics });

    const answer = answerOf(await route(httpEvent({ method: "POST", path: "/command", body: { type: "cart", command: "OpenCart", aggregateId: "c-1", id: 1, user: "u-1" } })));

    expect(answer.status).toBe(202);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ microservice: "cart", service: "ordinal", CommandsAppended: 1 });
    expect(published[0]._aws.CloudWatchMetrics[0].Namespace).toBe("Ordinal");
    expect(metricNames(published[0])).toEqual(["CommandsAppended"]);
  });

  it("publish even when the invocation fails", async () => {
    const { metrics, published } = recorded();
    metrics.addMetric("Tried", "Count", 1);
    await expect(publishing(metrics, async () => { throw new Error("boom"); })(undefined)).rejects.toThrow("boom");
    expect(published.map(metricNames)).toEqual([["Tried"]]);
  });

  it("write one document per dimension set, which is what the dashboard's outcome search matches", () => {
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "ordinal" });
    const lines: string[] = [];
    const single = vi.spyOn(metrics, "singleMetric").mockImplementation(() => {
      const one = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "ordinal", singleMetric: true });
      vi.spyOn(one, "publishStoredMetrics").mockImplementation(() => (lines.push(JSON.stringify(one.serializeMetrics())), one));
      return one;
    });

    countBy(metrics, "Outcomes", new Map([
      ["a", { dimensions: { microservice: "cart", status: "accepted" }, count: 3 }],
      ["b", { dimensions: { microservice: "cart", status: "rejected" }, count: 1 }],
    ]));

    expect(single).toHaveBeenCalledTimes(2);
    const docs = lines.map((l) => JSON.parse(l));
    expect(docs.map((d) => [d.status, d.Outcomes])).toEqual([["accepted", 3], ["rejected", 1]]);
    // The dashboard's SEARCH names the same namespace, dimension set and metric.
    const dimensions = docs[0]._aws.CloudWatchMetrics[0].Dimensions[0].slice().sort();
    expect(outcomeMetric("accepted").expression).toContain(`{${METRICS_NAMESPACE},${dimensions.join(",")}} MetricName="Outcomes"`);
  });
});
