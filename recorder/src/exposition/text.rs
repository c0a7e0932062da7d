//! The Prometheus text format 0.0.4: family metadata lines.
//!
//! HELP text escapes `\` and line feed; label values are escaped once, at first touch
//! (`crate::cells::label_pairs`).

use catalog::{MetricCatalog, MetricDef};

use super::{label_block_end, push_label_block};

/// Appends the `# HELP` and `# TYPE` lines of a family (named as its samples).
pub(super) fn family<C: MetricCatalog>(out: &mut String, def: &MetricDef<C>) {
    out.push_str("# HELP ");
    out.push_str(def.name);
    out.push(' ');
    for c in def.exposed_help().chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\n# TYPE ");
    out.push_str(def.name);
    out.push(' ');
    out.push_str(def.kind.type_name());
    out.push('\n');
}

/// Appends `text` (what `metrics-exporter-prometheus` renders) as it is, except that
/// the `le` of histogram buckets and the `quantile` of summaries are rewritten in the
/// canonical float form, as the recorder's own histograms are.
pub(super) fn facade(text: &str, out: &mut String) {
    let mut bound: Option<&str> = None;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            bound = match rest.split_whitespace().nth(1) {
                Some("histogram") => Some("le"),
                Some("summary") => Some("quantile"),
                _ => None,
            };
        } else if bound.is_some()
            && !line.starts_with('#')
            && let Some(open) = line.find('{')
            && let Some(end) = label_block_end(&line[open + 1..])
        {
            out.push_str(&line[..open]);
            push_label_block(out, &line[open + 1..open + 1 + end], bound);
            out.push_str(&line[open + 2 + end..]);
            continue;
        }
        out.push_str(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facade_bounds_become_canonical_and_the_rest_stays() {
        let text = "# HELP h Latency.\n# TYPE h histogram\nh_bucket{route=\"le=\\\"1\\\"\",le=\"1\"} 2\n\
                    h_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 3\n\n\
                    # TYPE s summary\ns{quantile=\"1\"} 0.2\n\n\
                    # TYPE c counter\nc{le=\"1\"} 1\n";
        let mut out = String::new();
        facade(text, &mut out);
        assert_eq!(
            out,
            "# HELP h Latency.\n# TYPE h histogram\nh_bucket{route=\"le=\\\"1\\\"\",le=\"1.0\"} 2\n\
             h_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 3\n\n\
             # TYPE s summary\ns{quantile=\"1.0\"} 0.2\n\n\
             # TYPE c counter\nc{le=\"1\"} 1\n"
        );
    }
}
