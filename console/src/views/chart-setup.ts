/**
 * Chart.js with only what the expiry timeline uses (tree-shaken: bars on a category and a linear
 * axis, tooltips), plus the "today" line drawn in Chart.js's own plugin hook.
 */
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip, type Plugin } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export const BarChart = Chart<'bar', [number, number][]>;

export const todayLine: Plugin<'bar'> = {
  id: 'ccsToday',
  afterDatasetsDraw(chart) {
    const x = chart.scales.x?.getPixelForValue(0);
    if (x === undefined) return;
    const { top, bottom } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = '#1f2328';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
    ctx.stroke();
    ctx.fillStyle = '#1f2328';
    ctx.fillText('today', x + 4, top + 10);
    ctx.restore();
  },
};
