// `error_type` is missing.
use catalog::{Metric, SourceId};

fn main() {
    recorder::inc(Metric::SourcesRequestsError, SourceId("a"));
}
