//! The Prometheus text format 0.0.4: family metadata lines.
//!
//! HELP text escapes `\` and line feed; label values are escaped once, at first touch
//! (`crate::cells::label_pairs`).

use catalog::{MetricCatalog, MetricDef};

/// Appends the `# HELP` and `# TYPE` lines of a family (named as its samples).
pub(super) fn family<C: MetricCatalog>(out: &mut String, def: &MetricDef<C>) {
    out.push_str("# HELP ");
    out.push_str(def.name);
    out.push(' ');
    for c in def.help.chars() {
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
