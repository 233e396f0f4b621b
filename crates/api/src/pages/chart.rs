//! The dashboard's 30-day chart as inline SVG: bars for orders, a line for revenue.

use std::fmt::Write;

use orderdesk_domain::Currency;
use orderdesk_domain::service::DaySummary;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
const PAD: f64 = 24.0;

/// Renders `days` (oldest first). Revenue is in `currency`'s minor units.
pub fn svg(days: &[DaySummary], currency: Currency) -> String {
    let total_orders: u64 = days.iter().map(|d| d.orders).sum();
    let total_revenue: i64 = days.iter().map(|d| d.revenue_minor).sum();
    let max_orders = days.iter().map(|d| d.orders).max().unwrap_or(0).max(1) as f64;
    let max_revenue = days.iter().map(|d| d.revenue_minor).max().unwrap_or(0).max(1) as f64;
    let slot = (WIDTH - 2.0 * PAD) / days.len().max(1) as f64;
    let plot = HEIGHT - 2.0 * PAD;
    let revenue = orderdesk_domain::Money::from_minor_units(total_revenue.max(1), currency)
        .map(|m| if total_revenue > 0 { m.to_string() } else { format!("0 {currency}") })
        .unwrap_or_default();
    let label = format!("Last {} days: {total_orders} orders, revenue {revenue}", days.len());
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{label}</title>"#
    );
    let _ = write!(
        out,
        r##"<line x1="{PAD}" y1="{y}" x2="{x2}" y2="{y}" stroke="#d9dee8"/>"##,
        y = HEIGHT - PAD,
        x2 = WIDTH - PAD
    );
    let mut line = String::new();
    for (i, day) in days.iter().enumerate() {
        let x = PAD + i as f64 * slot;
        let h = day.orders as f64 / max_orders * plot;
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#1f6feb"><title>{day}: {n} orders</title></rect>"##,
            y = HEIGHT - PAD - h,
            w = (slot - 2.0).max(1.0),
            day = day.day,
            n = day.orders,
        );
        let ry = HEIGHT - PAD - day.revenue_minor as f64 / max_revenue * plot;
        let _ = write!(line, "{:.1},{:.1} ", x + slot / 2.0, ry);
    }
    let _ = write!(out, r##"<polyline points="{}" fill="none" stroke="#067647" stroke-width="2"/>"##, line.trim_end());
    let _ = write!(
        out,
        r##"<text x="{PAD}" y="14" font-size="11" fill="#5b6478">Orders per day (bars) and revenue in {currency} (line), last {} days</text></svg>"##,
        days.len()
    );
    out
}
