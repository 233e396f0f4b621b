//! The dashboard's 30-day chart: inline SVG with bars for orders and a line for revenue in the
//! default currency, dates along the bottom and values up both sides, the period's totals per
//! currency in the caption, and the same numbers as a table for screen readers.

use std::fmt::Write;

use chrono::NaiveDate;
use orderdesk_domain::Currency;
use orderdesk_domain::ports::DailyTotal;

// Sized for a phone: drawn about 320 px wide on a 390 px screen, so 13 user units of text
// are at least 11 px there; on wider screens `max-height` keeps it from growing further.
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 34.0;
const RIGHT: f64 = 52.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 28.0;
/// Text size in user units (see `WIDTH`).
const FONT: f64 = 13.0;

/// One day of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Day {
    pub day: NaiveDate,
    /// Orders in every currency.
    pub orders: u64,
    /// Revenue in the default currency's minor units.
    pub revenue: i128,
}

/// What the chart shows: every day of the period, and the totals per currency.
pub(crate) struct Chart {
    pub days: Vec<Day>,
    pub totals: Vec<(Currency, u64, i128)>,
    pub currency: Currency,
}

impl Chart {
    /// Spreads `totals` (one row per day and currency, from the database) over the `days`
    /// days ending on `last`, oldest first; days without orders are zero.
    pub(crate) fn new(totals: &[DailyTotal], last: NaiveDate, days: u32, currency: Currency) -> Self {
        let first = last - chrono::Days::new(u64::from(days.saturating_sub(1)));
        let mut chart: Vec<Day> =
            (0..days).map(|i| Day { day: first + chrono::Days::new(u64::from(i)), orders: 0, revenue: 0 }).collect();
        for total in totals {
            if let Some(day) = usize::try_from((total.day - first).num_days()).ok().and_then(|i| chart.get_mut(i)) {
                day.orders += total.orders;
                if total.currency == currency {
                    day.revenue = day.revenue.saturating_add(total.revenue_minor);
                }
            }
        }
        Self { days: chart, totals: per_currency(totals, currency), currency }
    }

    /// The period's totals in words, e.g. "Last 30 days: 12 orders; revenue 3000.00 KES, 20.00 USD".
    pub(crate) fn caption(&self) -> String {
        let orders: u64 = self.totals.iter().map(|(_, n, _)| n).sum();
        let revenue: Vec<String> =
            self.totals.iter().map(|(c, _, minor)| format!("{} {c}", c.format_total(*minor))).collect();
        let revenue = if revenue.is_empty() { format!("0 {}", self.currency) } else { revenue.join(", ") };
        format!("Last {} days: {orders} orders; revenue {revenue}", self.days.len())
    }

    /// The figure: SVG, caption and an equivalent table.
    pub(crate) fn html(&self) -> String {
        let mut out = String::from(r#"<figure class="chart">"#);
        out.push_str(&self.svg());
        let _ = write!(out, "<figcaption>{}</figcaption>", escape(&self.caption()));
        let _ = write!(
            out,
            r#"<details><summary>The chart as a table</summary><table><thead><tr><th scope="col">Day</th><th scope="col" class="num">Orders</th><th scope="col" class="num">Revenue ({})</th></tr></thead><tbody>"#,
            self.currency
        );
        for day in &self.days {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                day.day,
                day.orders,
                self.currency.format_total(day.revenue)
            );
        }
        out.push_str("</tbody></table></details></figure>");
        out
    }

    fn svg(&self) -> String {
        let max_orders = nice_ceiling(self.days.iter().map(|d| d.orders).max().unwrap_or(0) as f64);
        let max_revenue_minor = self.days.iter().map(|d| d.revenue).max().unwrap_or(0).max(0);
        let scale = 10f64.powi(i32::try_from(self.currency.minor_digits()).unwrap_or(0));
        let max_revenue = nice_ceiling(max_revenue_minor as f64 / scale);
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let base = HEIGHT - BOTTOM;
        let slot = plot_w / self.days.len().max(1) as f64;
        let mut out = String::new();
        let _ = write!(
            out,
            r##"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg" font-size="{FONT}" fill="#4f586b"><title id="chart-title">{}</title>"##,
            escape(&format!("Orders per day (bars) and revenue in {} (line). {}", self.currency, self.caption()))
        );
        // Grid lines with values: orders on the left, revenue on the right.
        for step in 0..=4 {
            let fraction = f64::from(step) / 4.0;
            let y = base - fraction * plot_h;
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#e3e7ef"/><text x="{lx}" y="{ty:.1}" text-anchor="end">{o}</text><text x="{rx}" y="{ty:.1}" fill="#05603a">{r}</text>"##,
                x2 = WIDTH - RIGHT,
                lx = LEFT - 4.0,
                rx = WIDTH - RIGHT + 4.0,
                ty = y + FONT / 3.0,
                o = axis_label(max_orders * fraction),
                r = axis_label(max_revenue * fraction),
            );
        }
        let _ = write!(
            out,
            r##"<text x="4" y="{TOP}" >orders</text><text x="{x}" y="{TOP}" fill="#05603a">{c}</text>"##,
            x = WIDTH - RIGHT + 4.0,
            c = self.currency
        );
        let mut line = String::new();
        // About four dates fit along a phone-sized axis without touching.
        let label_every = self.days.len().div_ceil(4).max(1);
        for (i, day) in self.days.iter().enumerate() {
            let x = LEFT + i as f64 * slot;
            let h = if max_orders > 0.0 { day.orders as f64 / max_orders * plot_h } else { 0.0 };
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#1f6feb"><title>{d}: {n} orders</title></rect>"##,
                y = base - h,
                w = (slot - 2.0).max(1.0),
                d = day.day,
                n = day.orders,
            );
            let revenue = day.revenue as f64 / scale;
            let ry = if max_revenue > 0.0 { base - revenue / max_revenue * plot_h } else { base };
            let _ = write!(line, "{:.1},{:.1} ", x + slot / 2.0, ry);
            if i % label_every == 0 || i + 1 == self.days.len() {
                let _ = write!(
                    out,
                    r#"<text x="{cx:.1}" y="{ty}" text-anchor="middle">{label}</text>"#,
                    cx = x + slot / 2.0,
                    ty = base + FONT + 4.0,
                    label = day.day.format("%d %b"),
                );
            }
        }
        let _ =
            write!(out, r##"<polyline points="{}" fill="none" stroke="#067647" stroke-width="2"/>"##, line.trim_end());
        out.push_str("</svg>");
        out
    }
}

/// Orders and revenue (minor units) per currency of `totals`, `currency` first, then by code.
pub(crate) fn per_currency(totals: &[DailyTotal], currency: Currency) -> Vec<(Currency, u64, i128)> {
    let mut sums: Vec<(Currency, u64, i128)> = Vec::new();
    for total in totals {
        match sums.iter_mut().find(|(c, _, _)| *c == total.currency) {
            Some((_, orders, revenue)) => {
                *orders += total.orders;
                *revenue = revenue.saturating_add(total.revenue_minor);
            }
            None => sums.push((total.currency, total.orders, total.revenue_minor)),
        }
    }
    sums.sort_by_key(|(c, _, _)| (*c != currency, c.code()));
    sums
}

/// The smallest of 1, 2, 2.5, 5 × 10^n at or above `value` (so grid lines fall on round numbers).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 0.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|v| *v >= value).unwrap_or(10.0 * magnitude)
}

/// A short axis value: 950, 1.5k, 2M.
fn axis_label(value: f64) -> String {
    let (scaled, suffix) = match value {
        v if v >= 1e12 => (v / 1e12, "T"),
        v if v >= 1e9 => (v / 1e9, "G"),
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e3 => (v / 1e3, "k"),
        v => (v, ""),
    };
    let text = format!("{scaled:.1}");
    format!("{}{suffix}", text.strip_suffix(".0").unwrap_or(&text))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kes() -> Currency {
        Currency::parse("KES").unwrap()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn totals_are_spread_over_every_day_and_summed_per_currency_without_overflow() {
        let max = 999_999_999_999_999i128;
        let usd = Currency::parse("USD").unwrap();
        let rows = [
            DailyTotal { day: day(3), currency: kes(), orders: 9_315, revenue_minor: max * 9_315 },
            DailyTotal { day: day(28), currency: kes(), orders: 1, revenue_minor: 100 },
            DailyTotal { day: day(28), currency: usd, orders: 2, revenue_minor: 2000 },
            DailyTotal { day: day(1), currency: kes(), orders: 5, revenue_minor: 5 },
        ];
        let chart = Chart::new(&rows, day(28), 28, kes());
        assert_eq!(chart.days.len(), 28);
        assert_eq!(chart.days[2], Day { day: day(3), orders: 9_315, revenue: max * 9_315 });
        assert_eq!(chart.days[27], Day { day: day(28), orders: 3, revenue: 100 });
        assert_eq!(
            chart.caption(),
            "Last 28 days: 9323 orders; revenue 93149999999999907.90 KES, 20.00 USD",
            "large totals are exact, and each currency is named"
        );
    }

    #[test]
    fn the_figure_has_axes_a_caption_and_a_table() {
        let rows = [DailyTotal { day: day(28), currency: kes(), orders: 3, revenue_minor: 150_000 }];
        let html = Chart::new(&rows, day(28), 30, kes()).html();
        assert!(html.contains("<figcaption>Last 30 days: 3 orders; revenue 1500.00 KES</figcaption>"));
        assert!(html.contains(">28 Nov<"), "dates along the bottom");
        assert!(html.contains(">1.5k<") || html.contains(">2k<"), "revenue values on the side: {html}");
        assert!(html.contains("<td>2026-11-28</td><td class=\"num\">3</td><td class=\"num\">1500.00</td>"));
    }

    #[test]
    fn round_axis_values() {
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(1500.0), 2000.0);
        assert_eq!(nice_ceiling(0.0), 0.0);
        assert_eq!(axis_label(2_500_000.0), "2.5M");
        assert_eq!(axis_label(12.0), "12");
    }
}
