// A time-series chart (uPlot): seconds on x, one line per series.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartProps {
  readonly title: string;
  readonly series: readonly { readonly label: string; readonly color: string }[];
  /** [seconds since epoch, ...one column per series] */
  readonly data: readonly (readonly number[])[];
  readonly testId?: string;
}

export const Chart = ({ title, series, data, testId }: ChartProps) => {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (!box.current) return;
    const widthOf = (el: HTMLElement) => Math.max(300, el.clientWidth - 12);
    plot.current = new uPlot(
      {
        title,
        width: widthOf(box.current),
        height: 220,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
        axes: [{}, { size: 50 }],
      },
      data as uPlot.AlignedData,
      box.current,
    );
    // Its box's width, as the layout gives it: a grid cell may shrink after the first paint.
    const resized = new ResizeObserver(() => box.current && plot.current?.setSize({ width: widthOf(box.current), height: 220 }));
    resized.observe(box.current);
    return () => {
      resized.disconnect();
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => plot.current?.setData(data as uPlot.AlignedData), [data]);
  return <div class="chart" ref={box} data-testid={testId} />;
};
