//! OpenMetrics output parses back: family metadata as the specification wants it,
//! `# EOF` last, every hostile label value and trace id round-trips through its
//! escaping, and the samples are exactly the text format's.

use std::collections::BTreeMap;

use catalog::{Metric, MetricCatalog, MetricId, MetricKind, SourceErrorType, SourceId};
use proptest::prelude::*;
use recorder::Format;

/// One parsed sample: name, labels (unescaped), value, exemplar (labels, value).
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: String,
    exemplar: Option<(Vec<(String, String)>, String)>,
}

/// A family's metadata.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    help: Option<String>,
    unit: Option<String>,
    samples: Vec<Sample>,
}

/// Label pairs, unescaped.
type Pairs = Vec<(String, String)>;

/// Reads `{name="value",...}` from the start of `text`; returns the pairs and the rest.
fn read_labels(text: &str) -> Result<(Pairs, &str), String> {
    let mut rest = text.strip_prefix('{').ok_or("no {")?;
    let mut labels = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        if !labels.is_empty() {
            rest = rest
                .strip_prefix(',')
                .ok_or_else(|| format!("no comma: {rest}"))?;
        }
        let (name, after) = rest.split_once("=\"").ok_or("no =\"")?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => return Err(format!("bad escape \\{other}")),
                },
                (_, '\n') => return Err("raw line feed".into()),
                (_, c) => value.push(c),
            }
        };
        labels.push((name.to_string(), value));
        rest = &after[end + 1..];
    }
}

/// Reads one sample line (OpenMetrics when `openmetrics`, else text 0.0.4).
fn read_sample(line: &str, openmetrics: bool) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let (name, rest) = line.split_at(name_end);
    let (labels, rest) = if rest.starts_with('{') {
        read_labels(rest)?
    } else {
        (Vec::new(), rest)
    };
    let rest = rest.strip_prefix(' ').ok_or("no space before value")?;
    let (value, exemplar) = match rest.split_once(" # ") {
        Some((value, exemplar)) if openmetrics => {
            let (labels, after) = read_labels(exemplar)?;
            let chars: usize = labels
                .iter()
                .map(|(n, v)| n.chars().count() + v.chars().count())
                .sum();
            if chars > 128 {
                return Err(format!("exemplar label set of {chars} characters"));
            }
            let mut fields = after.split(' ').skip(1);
            let exemplar_value = fields.next().ok_or("no exemplar value")?;
            value
                .parse::<f64>()
                .map_err(|e| format!("exemplar value {value}: {e}"))?;
            let timestamp = fields.next().ok_or("no exemplar timestamp")?;
            timestamp
                .parse::<f64>()
                .map_err(|e| format!("timestamp {timestamp}: {e}"))?;
            (value, Some((labels, exemplar_value.to_string())))
        }
        _ => (rest, None),
    };
    if value.parse::<f64>().is_err() && !["+Inf", "-Inf", "NaN"].contains(&value) {
        return Err(format!("bad value {value:?}"));
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value: value.to_string(),
        exemplar,
    })
}

/// Parses an OpenMetrics exposition, checking its structure: metadata before samples,
/// samples named after their family, no blank line, `# EOF` last and only there.
fn parse_openmetrics(text: &str) -> Result<BTreeMap<String, Family>, String> {
    let body = text.strip_suffix("# EOF\n").ok_or("no # EOF at the end")?;
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in body.lines() {
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (keyword, family) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let rest = parts.next().unwrap_or("").to_string();
            if current.as_deref() != Some(family) {
                if families.contains_key(family) {
                    return Err(format!("family {family} interleaved"));
                }
                current = Some(family.to_string());
            }
            let entry = families.entry(family.to_string()).or_default();
            match keyword {
                "TYPE" => entry.kind = rest,
                "HELP" => entry.help = Some(rest),
                "UNIT" => entry.unit = Some(rest),
                other => return Err(format!("unknown metadata {other}")),
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            return Err(format!("line {line:?} not allowed"));
        }
        let sample = read_sample(line, true).map_err(|e| format!("{e}: {line:?}"))?;
        let family = current.as_deref().ok_or("sample before any family")?;
        let entry = families.get_mut(family).ok_or("no family")?;
        let suffixes: &[&str] = match entry.kind.as_str() {
            "counter" => &["_total", "_created"],
            "histogram" => &["_bucket", "_sum", "_count", "_created"],
            "gauge" => &[""],
            other => return Err(format!("unexpected type {other}")),
        };
        if !suffixes
            .iter()
            .any(|s| sample.name == format!("{family}{s}"))
        {
            return Err(format!("sample {} in family {family}", sample.name));
        }
        if sample.exemplar.is_some()
            && !(sample.name.ends_with("_total") || sample.name.ends_with("_bucket"))
        {
            return Err(format!("exemplar on {}", sample.name));
        }
        entry.samples.push(sample);
    }
    Ok(families)
}

/// Samples of a text-format exposition, keyed by name and labels.
fn text_samples(text: &str) -> BTreeMap<(String, Vec<(String, String)>), String> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| read_sample(line, false).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .map(|s| ((s.name, s.labels), s.value))
        .collect()
}

fn recorder() -> recorder::Recorder<MetricId> {
    recorder::Builder::<MetricId>::new()
        .panic_on_misuse(true)
        .build()
        .expect("valid catalog")
}

/// Every catalog metric is one family with its type, HELP (escaped) and UNIT exactly
/// when the unit is the family name's suffix.
#[test]
fn every_catalog_metric_is_one_family_with_its_metadata() {
    let recorder = recorder();
    let families = parse_openmetrics(&recorder.render_as(Format::OpenMetrics)).unwrap();
    // A metric behind a feature is off (and absent) unless the service turns it on.
    for metric in MetricId::ALL.iter().filter(|m| m.def().feature.is_none()) {
        let def = metric.def();
        let family_name = match def.kind {
            MetricKind::Counter => def
                .name
                .strip_suffix("_total")
                .expect("counters end in _total"),
            _ => def.name,
        };
        let family = &families[family_name];
        assert_eq!(family.kind, def.kind.type_name(), "{family_name}");
        assert_eq!(
            family.help.as_deref(),
            Some(&*def.exposed_help()),
            "{family_name}"
        );
        let unit = def
            .unit
            .suffix()
            .filter(|u| family_name.ends_with(&format!("_{u}")));
        assert_eq!(family.unit.as_deref(), unit, "{family_name}");
    }
    let with_unit = families.values().filter(|f| f.unit.is_some()).count();
    assert!(
        with_unit > 0,
        "the SMS catalog has seconds and bytes metrics"
    );
}

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z\\\\\"\n{}=, #]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Hostile label values and trace ids parse back exactly from OpenMetrics; the
    /// samples equal the text format's; exemplars sit on their series.
    #[test]
    fn openmetrics_output_parses_back(
        sources in prop::collection::btree_set(hostile().prop_filter("non-empty, not the overflow value", |s| !s.is_empty() && s != "__overflow__"), 1..6),
        trace_ids in prop::collection::vec("[ -!#-\\[\\]-~]{1,120}|[^\\p{C}\"\\\\]{1,30}", 6),
        values in prop::collection::vec(0.0f64..10.0, 6),
    ) {
        let recorder = recorder();
        let sources: Vec<String> = sources.into_iter().collect();
        let mut expected_exemplars = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            let labels = (SourceId(source.as_str()), SourceErrorType::Timeout);
            let counter = recorder.counter(Metric::SourcesRequestsError, labels);
            counter.inc();
            counter.inc_with_exemplar(&trace_ids[i]);
            let histogram = recorder.histogram(Metric::SourcesRequestDuration, SourceId(source.as_str()));
            histogram.observe_with_exemplar(values[i], &trace_ids[i]);
            expected_exemplars.push((source.clone(), trace_ids[i].clone()));
        }
        let openmetrics = recorder.render_as(Format::OpenMetrics);
        let families = parse_openmetrics(&openmetrics).map_err(|e| TestCaseError::fail(format!("{e}\n{openmetrics}")))?;

        // Same samples as the text format (exemplars aside).
        let om: BTreeMap<_, _> = families.values().flat_map(|f| &f.samples)
            .map(|s| ((s.name.clone(), s.labels.clone()), s.value.clone()))
            .collect();
        prop_assert_eq!(&om, &text_samples(&recorder.render()));

        let errors = Metric::SourcesRequestsError.def().name;
        let duration = Metric::SourcesRequestDuration.def().name;
        for (source, trace_id) in &expected_exemplars {
            let counter = families.values().flat_map(|f| &f.samples)
                .find(|s| s.name == errors && s.labels.iter().any(|(n, v)| n == "source_id" && v == source))
                .ok_or_else(|| TestCaseError::fail(format!("no counter for {source:?}")))?;
            prop_assert_eq!(&counter.value, "2");
            let expected = (vec![("trace_id".to_string(), trace_id.clone())], "1".to_string());
            prop_assert_eq!(counter.exemplar.as_ref(), Some(&expected));
            let bucket_exemplars: Vec<_> = families.values().flat_map(|f| &f.samples)
                .filter(|s| s.name == format!("{duration}_bucket") && s.labels.iter().any(|(n, v)| n == "source_id" && v == source))
                .filter_map(|s| s.exemplar.as_ref())
                .collect();
            prop_assert_eq!(bucket_exemplars.len(), 1, "one exemplar, on the observation's bucket");
            prop_assert_eq!(&bucket_exemplars[0].0[0].1, trace_id);
        }
    }
}

#[test]
fn exemplars_are_bounded_and_absent_from_the_text_format() {
    let recorder = recorder();
    let counter = recorder.counter(Metric::SourcesRequestsSuccess, SourceId("a"));
    counter.inc_with_exemplar(&"x".repeat(recorder::MAX_TRACE_ID_CHARS + 1));
    counter.inc_with_exemplar("");
    let families = parse_openmetrics(&recorder.render_as(Format::OpenMetrics)).unwrap();
    let name = Metric::SourcesRequestsSuccess.def().name;
    let family = &families[name.strip_suffix("_total").unwrap()];
    assert_eq!(family.samples[0].value, "2", "the increments count");
    assert_eq!(
        family.samples[0].exemplar, None,
        "the rejected trace ids are not kept"
    );
    let longest = "y".repeat(recorder::MAX_TRACE_ID_CHARS);
    counter.inc_with_exemplar(&longest);
    let families = parse_openmetrics(&recorder.render_as(Format::OpenMetrics)).unwrap();
    let family = &families[name.strip_suffix("_total").unwrap()];
    assert_eq!(
        family.samples[0].exemplar.as_ref().map(|e| &e.0[0].1),
        Some(&longest)
    );
    assert!(
        !recorder.render().contains(&longest),
        "no exemplar in text 0.0.4"
    );
}
