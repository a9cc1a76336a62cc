/**
 * Mark and index candles with lightweight-charts (its TradingView attribution logo stays on):
 * history from the indexer (`/v1/markets/{m}/candles`, finalized), the newest minute kept up to
 * date from the prices the page computes at every oracle or market account change.
 */
import { CandlestickSeries, createChart, LineSeries, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';

interface Bar {
    time: UTCTimestamp;
    open: number;
    high: number;
    low: number;
    close: number;
}

export class PriceChart {
    private chart: IChartApi;
    private mark: ISeriesApi<'Candlestick'>;
    private index: ISeriesApi<'Line'>;
    private last: Bar | null = null;
    private lastIndexTime = 0;

    constructor(el: HTMLElement) {
        this.chart = createChart(el, {
            autoSize: true,
            layout: { background: { color: '#0f1419' }, textColor: '#c9d1d9', attributionLogo: true },
            grid: { vertLines: { color: '#1c232b' }, horzLines: { color: '#1c232b' } },
            timeScale: { timeVisible: true, secondsVisible: false },
        });
        this.mark = this.chart.addSeries(CandlestickSeries, { upColor: '#3fb950', downColor: '#f85149', wickUpColor: '#3fb950', wickDownColor: '#f85149', borderVisible: false });
        this.index = this.chart.addSeries(LineSeries, { color: '#d2a8ff', lineWidth: 1, priceLineVisible: false });
    }

    /** Replaces the history with the indexer's candles (raw micro-USD strings). */
    setHistory(mark: { time: number; open: string; high: string; low: string; close: string }[], index: { time: number; close: string }[]) {
        const m = mark.map((c) => ({ time: c.time as UTCTimestamp, open: +c.open / 1e6, high: +c.high / 1e6, low: +c.low / 1e6, close: +c.close / 1e6 }));
        this.mark.setData(m);
        this.index.setData(index.map((c) => ({ time: c.time as UTCTimestamp, value: +c.close / 1e6 })));
        this.last = m.length ? { ...m[m.length - 1] } : null;
        this.lastIndexTime = index.length ? index[index.length - 1].time : 0;
    }

    /** A live price: updates the current minute's bar (or opens the next one). */
    tick(unix: number, mark: bigint, index: bigint) {
        const t = (Math.floor(unix / 60) * 60) as UTCTimestamp;
        const p = Number(mark) / 1e6;
        if (this.last && this.last.time > t) return; // older than what is drawn
        if (!this.last || this.last.time < t) this.last = { time: t, open: p, high: p, low: p, close: p };
        else this.last = { ...this.last, high: Math.max(this.last.high, p), low: Math.min(this.last.low, p), close: p };
        this.mark.update(this.last);
        if (t >= this.lastIndexTime) {
            this.index.update({ time: t, value: Number(index) / 1e6 });
            this.lastIndexTime = t;
        }
    }

    remove() {
        this.chart.remove();
    }
}
