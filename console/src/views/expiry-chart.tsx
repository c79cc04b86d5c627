/**
 * The certificates' expiry timeline (Chart.js): one bar per certificate from its start of
 * validity to its expiry, on a day axis around today (the vertical line), colored by what is wrong
 * — expired, expiring, fine. The canvas is labelled with the same summary; the table next to it
 * has every figure for keyboards and screen readers.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { Chart } from 'chart.js';
import type { Schemas } from '../../../client/index.js';

type Certificate = Schemas['Certificate'];
const DAY = 86_400_000;

export function toneOf(cert: Certificate): 'expired' | 'expiring' | 'ok' {
  const codes = (cert.problems ?? []).map((p) => p.code);
  if (codes.includes('expired')) return 'expired';
  if (codes.includes('expiring')) return 'expiring';
  return 'ok';
}

const COLOR = { expired: '#cf222e', expiring: '#bf8700', ok: '#1a7f37' };

export function ExpiryChart(props: { certificates: Certificate[]; summary: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const now = Date.now();
    const dated = props.certificates.filter((c) => c.valid_to);
    const span = (c: Certificate): [number, number] => [
      Math.round((Date.parse(c.valid_from ?? c.valid_to ?? '') - now) / DAY),
      Math.round((Date.parse(c.valid_to ?? '') - now) / DAY),
    ];
    const ends = dated.map((c) => span(c)[1]);
    let chart: Chart<'bar', [number, number][]> | undefined;
    let gone = false;
    // Chart.js is its own chunk, fetched the first time a timeline is shown.
    void import('./chart-setup.js').then(({ BarChart, todayLine }) => {
      if (gone || !canvas.current) return;
      chart = new BarChart(canvas.current, {
        type: 'bar',
        data: {
          labels: dated.map((c) => c.alias ?? c.id),
          datasets: [
            {
              label: 'validity',
              data: dated.map(span),
              backgroundColor: dated.map((c) => COLOR[toneOf(c)]),
              borderSkipped: false,
              barPercentage: 0.7,
            },
          ],
        },
        options: {
          indexAxis: 'y',
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: {
            x: {
              type: 'linear',
              min: Math.min(-60, ...ends.map((d) => d - 30)),
              max: Math.max(120, ...ends.map((d) => d + 30)),
              ticks: { callback: (value) => new Date(now + Number(value) * DAY).toISOString().slice(0, 10) },
              title: { display: true, text: 'valid until' },
            },
          },
          plugins: {
            tooltip: {
              callbacks: {
                label: (item) => {
                  const cert = dated[item.dataIndex];
                  return cert ? `valid to ${cert.valid_to?.slice(0, 10)} (${cert.expires_in_days} days)` : '';
                },
              },
            },
          },
        },
        plugins: [todayLine],
      });
    });
    return () => {
      gone = true;
      chart?.destroy();
    };
  }, [props.certificates]);
  const height = Math.max(120, 40 + props.certificates.length * 28);
  return (
    <div class="chart" style={{ height: `${Math.min(height, 600)}px` }}>
      <canvas ref={canvas} role="img" aria-label={`Expiry timeline: ${props.summary}`}>
        {props.summary}
      </canvas>
    </div>
  );
}
